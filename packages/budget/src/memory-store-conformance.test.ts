import { MemoryStore } from '@rel/core';
import { storeConformanceCases } from '@rel/core/testing';
import { describe, it } from 'vitest';

describe('MemoryStore meets the StateStore conformance suite', () => {
  for (const c of storeConformanceCases({ create: (clock) => new MemoryStore(clock ? { clock } : {}) })) {
    it(c.name, c.run);
  }
});
