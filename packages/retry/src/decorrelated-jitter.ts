import type { RandomSource } from '@rel/core';
import { z } from 'zod';

/**
 * Options of `decorrelatedJitter`, the default backoff.
 * @example retry({ backoff: { type: 'decorrelated', baseMs: 1_000, capMs: 8_000 } })
 */
export const DecorrelatedJitterSchema = z
  .strictObject({
    type: z.literal('decorrelated'),
    /**
     * The smallest delay, and the first "previous" delay. The default, 1 s, spaces attempts by at
     * least a second, so a provider that rate-limits without `Retry-After` sees at most 4 attempts
     * in any 3 s, whatever `maxAttempts` is.
     */
    baseMs: z.number().nonnegative().finite().default(1_000),
    /** No delay is ever longer. */
    capMs: z.number().nonnegative().finite().default(10_000),
  })
  .refine((o) => o.baseMs <= o.capMs, { message: 'baseMs must not exceed capMs', path: ['baseMs'] });
export type DecorrelatedJitterOptions = z.output<typeof DecorrelatedJitterSchema>;

/**
 * AWS "decorrelated jitter", drawn as `uniform(baseMs, min(capMs, previousMs * 3))`: each delay
 * grows from the one before it, never falls under `baseMs` and never passes `capMs`, so attempts
 * are spaced by at least `baseMs` while still spreading out. (Capping the range rather than the
 * draw keeps delays uniform near the cap instead of piling them up on it.)
 * @param previousMs the delay used before the previous retry (`baseMs` before the first).
 * @param options the parsed options.
 * @param random a source of uniform numbers in [0, 1).
 * @example
 * let d = 1_000;
 * d = decorrelatedJitter(d, { type: 'decorrelated', baseMs: 1_000, capMs: 10_000 }, Math.random); // in [1000, 3000]
 */
export function decorrelatedJitter(
  previousMs: number,
  options: Pick<DecorrelatedJitterOptions, 'baseMs' | 'capMs'>,
  random: RandomSource,
): number {
  const low = options.baseMs;
  const high = Math.max(low, Math.min(options.capMs, previousMs * 3));
  return Math.min(options.capMs, low + random() * (high - low));
}
