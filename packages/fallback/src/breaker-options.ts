import { z } from 'zod';

/** How long a half-open period with every probe slot taken may wait for an outcome (see `halfOpen`). */
const DEFAULT_PROBE_TIMEOUT_MS = 120_000;

/**
 * Options of a circuit breaker. Any combination of the three trip modes may be set; without any,
 * the breaker opens after 5 consecutive failures.
 */
export const BreakerOptionsSchema = z.strictObject({
  /** Opens after this many failures in a row (a success resets the count). */
  consecutiveFailures: z.number().int().positive().optional(),
  /** Opens when the share of failed calls in the sliding window reaches `threshold`. */
  failureRate: z
    .strictObject({
      threshold: z.number().gt(0).max(1),
      windowMs: z.number().int().positive(),
      /** No decision below this many calls in the window. */
      minimumCalls: z.number().int().positive(),
    })
    .optional(),
  /** Opens when the share of calls slower than `slowCallMs` in the sliding window reaches `threshold`. */
  slowCallRate: z
    .strictObject({
      threshold: z.number().gt(0).max(1),
      slowCallMs: z.number().positive(),
      windowMs: z.number().int().positive(),
      minimumCalls: z.number().int().positive(),
    })
    .optional(),
  /** How long the breaker stays open before it lets probes through (half-open). Default 30 s. */
  openMs: z.number().int().nonnegative().default(30_000),
  /**
   * Half-open: at most `maxProbes` calls are let through; `successesToClose` of them must succeed.
   * A half-open period whose probe slots are all taken and that has not decided within
   * `probeTimeoutMs` of its start reopens (reason `probe_timeout`): a probe whose outcome never
   * arrives (its process crashed, its caller vanished) cannot hold the breaker half-open forever.
   */
  halfOpen: z
    .strictObject({
      maxProbes: z.number().int().positive().default(1),
      successesToClose: z.number().int().positive().optional(),
      /** Default 120 s: longer than a slow streamed answer, so a healthy probe is not cut short. */
      probeTimeoutMs: z.number().int().positive().default(DEFAULT_PROBE_TIMEOUT_MS),
    })
    .default({ maxProbes: 1, probeTimeoutMs: DEFAULT_PROBE_TIMEOUT_MS })
    .refine((h) => (h.successesToClose ?? h.maxProbes) <= h.maxProbes, {
      message: 'successesToClose must not exceed maxProbes',
      path: ['successesToClose'],
    }),
});

/** Breaker options as written by the caller (before defaults). */
export type BreakerOptions = z.input<typeof BreakerOptionsSchema>;
/** Breaker options after parsing, defaults applied. */
export type BreakerConfig = z.output<typeof BreakerOptionsSchema>;

/** Counts over the sliding window, as the trip decision reads them. */
export interface WindowCounts {
  calls: number;
  failures: number;
  slow: number;
}

/**
 * Whether a closed breaker must open, given the consecutive failures and the window counts.
 * Shared by the in-memory and the store-backed state so both decide alike.
 */
export function shouldTrip(
  config: BreakerConfig,
  consecutive: number,
  failureWindow: WindowCounts | undefined,
  slowWindow: WindowCounts | undefined,
): string | undefined {
  const consecutiveLimit =
    config.consecutiveFailures ?? (config.failureRate || config.slowCallRate ? undefined : DEFAULT_CONSECUTIVE);
  if (consecutiveLimit !== undefined && consecutive >= consecutiveLimit) return 'consecutive_failures';
  const fr = config.failureRate;
  if (
    fr &&
    failureWindow &&
    failureWindow.calls >= fr.minimumCalls &&
    failureWindow.failures >= fr.threshold * failureWindow.calls
  )
    return 'failure_rate';
  const sr = config.slowCallRate;
  if (sr && slowWindow && slowWindow.calls >= sr.minimumCalls && slowWindow.slow >= sr.threshold * slowWindow.calls)
    return 'slow_call_rate';
  return undefined;
}

/** Consecutive failures that open a breaker configured with no trip mode at all. */
export const DEFAULT_CONSECUTIVE = 5;
