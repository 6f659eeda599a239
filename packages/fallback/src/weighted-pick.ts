import type { RandomSource } from '@rel/core';

/**
 * Picks an index with probability proportional to its weight. Zero weights are never picked while
 * a positive weight exists; with all weights zero the first index is returned.
 * @example weightedPick([3, 1], seededRandom(1)) // 0 three times out of four
 */
export function weightedPick(weights: readonly number[], random: RandomSource): number {
  let total = 0;
  for (const w of weights) total += Math.max(w, 0);
  if (total <= 0) return 0;
  let r = random() * total;
  let last = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w <= 0) continue;
    last = i;
    if (r < w) return i;
    r -= w;
  }
  return last;
}

/**
 * Orders items by weighted sampling without replacement: the first is picked in proportion to the
 * weights, the second among the rest, and so on. Load spreads by weight while every item stays
 * available as a fallback for the others.
 * @example weightedOrder(['a', 'b'], [9, 1], Math.random) // ['a', 'b'] nine times out of ten
 */
export function weightedOrder<T>(items: readonly T[], weights: readonly number[], random: RandomSource): T[] {
  if (items.length <= 1) return [...items];
  const restItems = [...items];
  const restWeights = [...weights];
  const out: T[] = [];
  while (restItems.length > 0) {
    const i = weightedPick(restWeights, random);
    out.push(restItems[i]!);
    restItems.splice(i, 1);
    restWeights.splice(i, 1);
  }
  return out;
}
