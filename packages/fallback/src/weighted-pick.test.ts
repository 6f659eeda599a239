import { seededRandom } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { weightedOrder, weightedPick } from './weighted-pick';

describe('weightedPick', () => {
  it('picks in proportion to the weights', () => {
    const random = seededRandom(7);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[weightedPick([6, 3, 1], random)]!++;
    expect(counts[0]! / 20_000).toBeCloseTo(0.6, 1);
    expect(counts[1]! / 20_000).toBeCloseTo(0.3, 1);
    expect(counts[2]! / 20_000).toBeCloseTo(0.1, 1);
  });

  it('never picks a zero weight while a positive one exists', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (weights, u) => {
          const i = weightedPick(weights, () => u);
          expect(i).toBeGreaterThanOrEqual(0);
          expect(i).toBeLessThan(weights.length);
          if (weights.some((w) => w > 0)) expect(weights[i]).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('weightedOrder', () => {
  it('returns a permutation of its items', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 4 }), { maxLength: 6 }), fc.integer(), (weights, seed) => {
        const items = weights.map((_, i) => i);
        const out = weightedOrder(items, weights, seededRandom(seed));
        expect([...out].sort((a, b) => a - b)).toEqual(items);
      }),
    );
  });

  it('puts the heavier deployment first most of the time and keeps the other as fallback', () => {
    const random = seededRandom(3);
    let aFirst = 0;
    for (let i = 0; i < 2_000; i++) {
      const order = weightedOrder(['a', 'b'], [9, 1], random);
      expect(order).toHaveLength(2);
      if (order[0] === 'a') aFirst++;
    }
    expect(aFirst / 2_000).toBeCloseTo(0.9, 1);
  });
});
