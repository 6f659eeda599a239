/** A source of uniform numbers in [0, 1), injectable so jitter is reproducible in tests. */
export type RandomSource = () => number;

/** `Math.random`, the default random source. */
export const systemRandom: RandomSource = () => Math.random();

/**
 * A seedable random source (mulberry32): the same seed yields the same sequence.
 * @example const rnd = seededRandom(42); rnd(); // 0.6011...
 */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
