import type { RandomSource } from '@rel/core';
import { z } from 'zod';

/**
 * Options of `exponentialBackoff`: the ceiling doubles from `baseMs` up to `capMs`.
 * @example retry({ backoff: { type: 'exponential', baseMs: 200, capMs: 5_000, jitter: 'full' } })
 */
export const ExponentialBackoffSchema = z
  .strictObject({
    type: z.literal('exponential'),
    /** Ceiling of the first retry's delay. */
    baseMs: z.number().nonnegative().finite().default(500),
    /** No delay is ever longer. */
    capMs: z.number().nonnegative().finite().default(10_000),
    /** `full`: uniform in [0, ceiling] (AWS "full jitter"); `none`: exactly the ceiling. */
    jitter: z.enum(['full', 'none']).default('full'),
  })
  .refine((o) => o.baseMs <= o.capMs, { message: 'baseMs must not exceed capMs', path: ['baseMs'] });
export type ExponentialBackoffOptions = z.output<typeof ExponentialBackoffSchema>;

/**
 * The delay before the retry that follows failed attempt `attempt` (1-based): with full jitter a
 * uniform draw in `[0, min(capMs, baseMs * 2^(attempt-1))]`. Always within `[0, capMs]`.
 * @param attempt the number of the attempt that just failed, from 1.
 * @param options the parsed backoff options.
 * @param random a source of uniform numbers in [0, 1).
 * @example
 * exponentialBackoff(3, { type: 'exponential', baseMs: 100, capMs: 1000, jitter: 'none' }, Math.random) // 400
 */
export function exponentialBackoff(
  attempt: number,
  options: Pick<ExponentialBackoffOptions, 'baseMs' | 'capMs' | 'jitter'>,
  random: RandomSource,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 64);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return options.jitter === 'none' ? ceiling : random() * ceiling;
}
