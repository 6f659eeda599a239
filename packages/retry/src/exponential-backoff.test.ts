import { seededRandom } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from './exponential-backoff';

describe('exponentialBackoff', () => {
  it('doubles the ceiling from base up to the cap without jitter', () => {
    const o = { baseMs: 100, capMs: 1_000, jitter: 'none' as const };
    expect([1, 2, 3, 4, 5, 60, 5_000].map((a) => exponentialBackoff(a, o, Math.random))).toEqual([
      100, 200, 400, 800, 1_000, 1_000, 1_000,
    ]);
  });

  it('draws full jitter uniformly under the ceiling', () => {
    const o = { baseMs: 100, capMs: 1_000, jitter: 'full' as const };
    expect(exponentialBackoff(3, o, () => 0)).toBe(0);
    expect(exponentialBackoff(3, o, () => 0.5)).toBe(200);
  });

  it('property: every delay lies in [0, cap] for any attempt, base, cap and random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.constantFrom('full' as const, 'none' as const),
        fc.integer(),
        (attempt, base, extra, jitter, seed) => {
          const capMs = base + extra;
          const d = exponentialBackoff(attempt, { baseMs: base, capMs, jitter }, seededRandom(seed));
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(capMs);
        },
      ),
    );
  });
});
