import { seededRandom } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decorrelatedJitter } from './decorrelated-jitter';

describe('decorrelatedJitter', () => {
  it('draws between base and three times the previous delay', () => {
    const o = { baseMs: 100, capMs: 10_000 };
    expect(decorrelatedJitter(100, o, () => 0)).toBe(100);
    expect(decorrelatedJitter(1_000, o, () => 0.5)).toBe(1_550);
    expect(decorrelatedJitter(9_000, o, () => 0.99)).toBe(9_901);
  });

  it('property: a chain of delays stays in [base, cap] and so in [0, cap]', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer(),
        (base, extra, steps, seed) => {
          const o = { baseMs: base, capMs: base + extra };
          const random = seededRandom(seed);
          let d = base;
          for (let i = 0; i < steps; i++) {
            d = decorrelatedJitter(d, o, random);
            expect(d).toBeGreaterThanOrEqual(base);
            expect(d).toBeLessThanOrEqual(o.capMs);
          }
        },
      ),
    );
  });
});
