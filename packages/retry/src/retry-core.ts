import {
  type Abortable,
  type Clock,
  type EventHub,
  type HeaderSource,
  type RandomSource,
  RelError,
  type RelFailure,
  abortReason,
  abortableOf,
  retryAfterFromHeaders,
  retryAfterOf,
  systemRandom,
} from '@rel/core';
import type { z } from 'zod';
import { decorrelatedJitter } from './decorrelated-jitter';
import { exponentialBackoff } from './exponential-backoff';
import { runHedged } from './hedge';
import { failureOf, isRetryable } from './is-retryable';
import { LatencyTracker } from './latency-tracker';
import { parseOptions } from './options';
import type { RetryBudget } from './retry-budget';
import { type RetryDecision, type RetryOptions, RetryOptionsSchema } from './retry-options';
import { withDeadline } from './signal-deadline';

/** Where one logical request runs. @internal */
export interface RetryScope {
  /** Cancels the whole logical request (a `RequestContext` is one). */
  readonly abort: Abortable;
  readonly deadline: number | undefined;
  readonly clock: Clock;
  readonly requestId: string | undefined;
  readonly events: EventHub | undefined;
  /** Route name, for hedging's per-route latency. */
  readonly route: string;
}

/** Starts one attempt; `hedge` marks the extra attempt of a hedge. @internal */
export type StartAttempt<T> = (abort: Abortable, hedge: boolean) => Promise<T>;

type Parsed = z.output<typeof RetryOptionsSchema>;

/**
 * The retry loop shared by `retryPolicy` and the `retry` middleware.
 * @internal
 */
export class RetryCore {
  readonly options: Parsed;
  readonly clock: Clock | undefined;
  readonly #random: RandomSource;
  readonly #budget: RetryBudget | undefined;
  readonly #shouldRetry: ((d: RetryDecision) => boolean) | undefined;
  readonly #retryAfter: (error: unknown, failure: RelFailure, now: number) => number | undefined;
  readonly #hedgeRoutes: ReadonlySet<string> | undefined;
  readonly #latency = new Map<string, LatencyTracker>();

  constructor(options: RetryOptions, owner: string) {
    const { clock, random, budget, shouldRetry, retryAfter, events: _events, ...data } = options;
    this.options = parseOptions(RetryOptionsSchema, data, owner);
    this.clock = clock;
    this.#random = random ?? systemRandom;
    this.#budget = budget;
    this.#shouldRetry = shouldRetry;
    this.#retryAfter = retryAfter ?? defaultRetryAfter;
    const routes = this.options.hedge?.routes;
    this.#hedgeRoutes = routes ? new Set(routes) : undefined;
  }

  /** Runs attempts until one succeeds or the policy gives up; throws the failure it gave up on. */
  async run<T>(start: StartAttempt<T>, scope: RetryScope, discard?: (value: T) => void): Promise<T> {
    if (scope.abort.aborted) throw abortReason(scope.abort.signal);
    this.#budget?.recordRequest();
    const o = this.options;
    const hedging = o.hedge !== undefined && (this.#hedgeRoutes === undefined || this.#hedgeRoutes.has(scope.route));
    if (scope.deadline !== undefined && scope.deadline - scope.clock.now() <= o.minAttemptMs) {
      throw new RelError({ kind: 'timeout', phase: 'total', limitMs: 0 });
    }
    let previous = o.backoff.baseMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!hedging) return await start(scope.abort, false);
        return await this.#hedged(start, scope, discard);
      } catch (error) {
        const delay = await this.#delayOrThrow(error, attempt, previous, scope);
        if (delay.fromBackoff) previous = delay.ms;
        // A zero wait needs no timer (the system clock's would still take ~1 ms); an abort still wins.
        if (delay.ms > 0) await scope.clock.sleep(delay.ms, scope.abort.signal);
        else if (scope.abort.aborted) throw abortReason(scope.abort.signal);
      }
    }
  }

  /** Decides on one failure: the delay before the next attempt, or throws to give up. */
  async #delayOrThrow(
    error: unknown,
    attempt: number,
    previous: number,
    scope: RetryScope,
  ): Promise<{ ms: number; fromBackoff: boolean }> {
    if (scope.abort.aborted) throw error;
    const failure = failureOf(error);
    const retryable = isRetryable(failure);
    const retry = this.#shouldRetry ? this.#shouldRetry({ error, failure, attempt, retryable }) : retryable;
    if (!retry || failure.kind === 'cancelled') throw error;
    if (attempt >= this.options.maxAttempts) this.#giveUp(error, failure, attempt, scope);
    const now = scope.clock.now();
    const asked = this.#retryAfter(error, failure, now);
    const remaining = scope.deadline === undefined ? Number.POSITIVE_INFINITY : scope.deadline - now;
    if (asked !== undefined && asked > remaining) {
      const limited =
        RelError.is(error) && error.failure.kind === 'rate_limited' && error.failure.retryAfterMs === asked
          ? error
          : new RelError({ kind: 'rate_limited', retryAfterMs: asked }, { cause: error });
      this.#giveUp(limited, limited.failure, attempt, scope);
    }
    const fromBackoff = asked === undefined;
    const ms = fromBackoff
      ? this.#backoff(attempt, previous)
      : Math.min(Math.max(0, asked), this.options.maxRetryAfterMs);
    if (ms + this.options.minAttemptMs >= remaining) this.#giveUp(error, failure, attempt, scope);
    if (this.#budget && !(await this.#budget.tryWithdraw())) this.#giveUp(error, failure, attempt, scope);
    const events = scope.events;
    if (events?.has('retry')) {
      events.emit('retry', { requestId: scope.requestId, attempt: attempt + 1, delayMs: ms, reason: failure.kind });
    }
    return { ms, fromBackoff };
  }

  #backoff(attempt: number, previous: number): number {
    const b = this.options.backoff;
    const ms =
      b.type === 'exponential'
        ? exponentialBackoff(attempt, b, this.#random)
        : decorrelatedJitter(previous, b, this.#random);
    // Whole milliseconds, as timers keep them; flooring keeps the delay within [0, capMs].
    return Math.floor(ms);
  }

  #giveUp(error: unknown, failure: RelFailure, attempts: number, scope: RetryScope): never {
    const events = scope.events;
    if (events?.has('give-up')) events.emit('give-up', { requestId: scope.requestId, attempts, failure });
    throw error;
  }

  #hedged<T>(start: StartAttempt<T>, scope: RetryScope, discard: ((value: T) => void) | undefined): Promise<T> {
    const h = this.options.hedge!;
    let tracker = this.#latency.get(scope.route);
    if (!tracker) {
      tracker = new LatencyTracker({ minSamples: h.minSamples });
      if (this.#latency.size < 1_000) this.#latency.set(scope.route, tracker);
    }
    const observed = h.percentile === undefined ? undefined : tracker.percentile(h.percentile);
    const delayMs = observed ?? h.delayMs;
    const { clock, deadline } = scope;
    const timed = (signal: AbortSignal, hedge: boolean): Promise<T> => {
      const t0 = clock.now();
      if (deadline !== undefined) withDeadline(signal, deadline);
      return start(abortableOf(signal), hedge).then((value) => {
        tracker.record(clock.now() - t0);
        return value;
      });
    };
    return runHedged({
      start: timed,
      delayMs,
      signal: scope.abort.signal,
      clock,
      allow: () => {
        if (deadline !== undefined && deadline - clock.now() <= this.options.minAttemptMs) return false;
        return this.#budget ? this.#budget.tryWithdraw() : true;
      },
      onHedge: () => {
        if (scope.events?.has('hedge')) scope.events.emit('hedge', { requestId: scope.requestId, delayMs });
      },
      discard: discard ?? (() => {}),
    });
  }
}

/** The failure's own `retryAfterMs`, else the headers of an error that carries them. */
function defaultRetryAfter(error: unknown, failure: RelFailure, now: number): number | undefined {
  const own = retryAfterOf(failure);
  if (own !== undefined || RelError.is(error)) return own;
  const headers = typeof error === 'object' && error !== null ? (error as { headers?: unknown }).headers : undefined;
  if (typeof headers !== 'object' || headers === null) return undefined;
  return retryAfterFromHeaders(headers as HeaderSource, now);
}
