import { abortableOf, systemClock } from '@rel/core';
import { NEVER_ABORTED } from './never-aborted';
import { RetryCore, type RetryScope } from './retry-core';
import type { RetryOptions } from './retry-options';
import { deadlineOf } from './signal-deadline';

/** What a call without a signal runs under: never aborts, and hands `fn` the shared `NEVER_ABORTED`. */
const NEVER = abortableOf(NEVER_ABORTED);

/** Retries around any cancellable async function. */
export interface RetryPolicy {
  /**
   * Runs `fn` until it succeeds or the policy gives up, and rethrows the failure it gave up on
   * (the original error; a `rate_limited` `RelError` when the asked wait passes the deadline).
   * `attempt` counts every start from 1, hedges included. Backoff waits end at once when `signal`
   * aborts, and an abort is never retried. Without `signal`, `fn` receives a shared signal that
   * never aborts: remove any listener you add to it (as `fetch` does).
   */
  execute<T>(fn: (signal: AbortSignal, attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * A retry policy for any `(signal, attempt) => Promise<T>`, as cockatiel's `retry(...).execute`,
 * with cancellable backoff on an injectable clock, `Retry-After` hints, deadlines (read from the
 * signal, see `deadlineOf`), a shared `RetryBudget` and optional hedging.
 *
 * Idempotency: generate one key per logical operation outside `execute` and send it on every
 * attempt, so the server can deduplicate side effects of retried and hedged attempts.
 * @throws TypeError at creation when an option is invalid (the message names the field).
 * @example
 * const policy = retryPolicy({ maxAttempts: 4, backoff: { type: 'exponential', baseMs: 200, capMs: 5_000 } });
 * const key = crypto.randomUUID();
 * const res = await policy.execute((signal) => fetch(url, { method: 'POST', signal, headers: { 'Idempotency-Key': key } }));
 */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const core = new RetryCore(options, 'retryPolicy');
  const clock = core.clock ?? systemClock;
  const events = options.events;
  return {
    execute<T>(fn: (signal: AbortSignal, attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
      const abort = signal === undefined ? NEVER : abortableOf(signal);
      const scope: RetryScope = { abort, deadline: deadlineOf(signal), clock, requestId: undefined, events, route: '' };
      let n = 0;
      return core.run((attempt) => fn(attempt.signal, ++n), scope);
    },
  };
}
