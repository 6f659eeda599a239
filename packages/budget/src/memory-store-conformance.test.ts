import { MemoryStore } from '@rel/core';
import { storeConformanceCases } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';

describe('MemoryStore meets the StateStore conformance suite', () => {
  // Each case asserts with node:assert inside `run`; a failed assertion fails the vitest case.
  const cases = storeConformanceCases({ create: (clock) => new MemoryStore(clock ? { clock } : {}) });

  it('runs the whole suite', () => {
    expect(cases.length).toBeGreaterThanOrEqual(16);
  });

  for (const c of cases) {
    it(c.name, c.run);
  }
});
