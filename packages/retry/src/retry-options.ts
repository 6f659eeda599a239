import type { Clock, EventHub, RandomSource, RelFailure } from '@rel/core';
import { z } from 'zod';
import { DecorrelatedJitterSchema } from './decorrelated-jitter';
import { ExponentialBackoffSchema } from './exponential-backoff';
import { HedgeOptionsSchema } from './hedge';
import type { RetryBudget } from './retry-budget';

/**
 * The data options of `retry` and `retryPolicy` (functions and objects are in `RetryHooks`).
 * @example RetryOptionsSchema.parse({ maxAttempts: 3 }).backoff // { type: 'decorrelated', baseMs: 1000, capMs: 10000 }
 */
export const RetryOptionsSchema = z.strictObject({
  /** Attempts in all, the first included (hedges are extra). */
  maxAttempts: z.number().int().min(1).max(100).default(4),
  /**
   * Delay between attempts when the failure names no wait. Default: decorrelated jitter from 1 s
   * to 10 s, so attempts are at least 1 s apart (at most 4 in the first 3 s of a 429 storm).
   */
  backoff: z
    .discriminatedUnion('type', [ExponentialBackoffSchema, DecorrelatedJitterSchema])
    .default({ type: 'decorrelated', baseMs: 1_000, capMs: 10_000 }),
  /** The longest wait honoured from a `Retry-After` or reset hint; longer hints are clamped to it. */
  maxRetryAfterMs: z.number().nonnegative().finite().default(30_000),
  /** No attempt starts with less than this left before the deadline. */
  minAttemptMs: z.number().nonnegative().finite().default(0),
  /** Hedging: an extra concurrent attempt when the first is slow. Off by default. */
  hedge: HedgeOptionsSchema.optional(),
});

/** What `shouldRetry` is asked about one failed attempt. */
export interface RetryDecision {
  readonly error: unknown;
  readonly failure: RelFailure;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** The default decision (`isRetryable(failure)`). */
  readonly retryable: boolean;
}

/** The non-data options of `retry` and `retryPolicy`. */
export interface RetryHooks {
  /** Default: `systemClock` (`retryPolicy`) or the request context's clock (`retry`). */
  clock?: Clock;
  /** Jitter source. Default `systemRandom`. */
  random?: RandomSource;
  /** A budget shared by policies: when exhausted, failures are not retried (nor hedged). */
  budget?: RetryBudget;
  /**
   * Narrows or widens the default decision. Aborts (`cancelled`) are never retried, whatever it
   * answers; the attempt limit, deadline and budget still apply.
   */
  shouldRetry?: (decision: RetryDecision) => boolean;
  /**
   * The wait a failure asks for, in ms. Default: the failure's `retryAfterMs`, else the
   * `Retry-After` / rate-limit reset headers of an error that carries `headers`. `now` is the
   * policy clock's time, for HTTP dates.
   */
  retryAfter?: (error: unknown, failure: RelFailure, now: number) => number | undefined;
  /** Where `retry`, `give-up` and `hedge` events go (the middleware prefers `ctx.events`). */
  events?: EventHub;
}

/** Options of `retry` and `retryPolicy`. */
export type RetryOptions = z.input<typeof RetryOptionsSchema> & RetryHooks;
