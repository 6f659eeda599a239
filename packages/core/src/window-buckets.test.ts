import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowBuckets } from './window-buckets';

/** The plain algorithm the class replaces: sum the map in insertion order, dropping old buckets. */
function plainTotal(amounts: Map<number, number>, oldest: number): number {
  let sum = 0;
  for (const [b, amount] of amounts) {
    if (b < oldest) amounts.delete(b);
    else sum += amount;
  }
  return sum;
}

describe('WindowBuckets', () => {
  it('sums the buckets in the window and drops the older ones', () => {
    const w = new WindowBuckets();
    w.add(0, 1);
    w.add(1000, 2);
    w.add(1000, 0.5);
    w.add(2000, 4);
    expect(w.total(0)).toBe(7.5);
    expect(w.total(1000)).toBe(6.5);
    expect(w.size).toBe(2);
    expect(w.newest).toBe(2000);
    expect(w.total(5000)).toBe(0);
    expect(w.size).toBe(0);
    expect(w.newest).toBe(Number.NEGATIVE_INFINITY);
  });

  it('property: totals are bit-for-bit those of summing the map each time, clock going back included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              add: fc.integer({ min: -1, max: 3 }),
              amount: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 10, noNaN: true })),
            }),
            fc.record({ oldest: fc.integer({ min: 0, max: 60 }) }),
          ),
          { maxLength: 80 },
        ),
        (steps) => {
          const w = new WindowBuckets();
          const plain = new Map<number, number>();
          // Bucket starts walk forward in time with an occasional step back (a clock set back).
          let at = 0;
          for (const step of steps) {
            if ('add' in step) {
              at = Math.max(0, at + step.add);
              const start = at * 1000;
              w.add(start, step.amount);
              plain.set(start, (plain.get(start) ?? 0) + step.amount);
            } else {
              expect(Object.is(w.total(step.oldest * 1000), plainTotal(plain, step.oldest * 1000))).toBe(true);
              expect(w.size).toBe(plain.size);
              expect(w.newest).toBe(plain.size ? Math.max(...plain.keys()) : Number.NEGATIVE_INFINITY);
            }
          }
          expect([...w.entries()]).toEqual([...plain.entries()]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
