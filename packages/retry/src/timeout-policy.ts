import { type Clock, type EventHub, systemClock } from '@rel/core';
import { z } from 'zod';
import { NEVER_ABORTED } from './never-aborted';
import { parseOptions } from './options';
import { RequestTimer } from './request-timer';
import { deadlineOf, withDeadline } from './signal-deadline';

/**
 * Options of `timeoutPolicy`.
 * @example timeoutPolicy({ totalMs: 5_000, operation: 'embed' })
 */
export const TimeoutPolicyOptionsSchema = z.strictObject({
  /** The limit of one `execute` call. */
  totalMs: z.number().positive().finite(),
  /** Reported as `operation` in `timeout` events. */
  operation: z.string().min(1).default('call'),
});
export type TimeoutPolicyOptions = z.input<typeof TimeoutPolicyOptionsSchema> & {
  clock?: Clock;
  events?: EventHub;
};

/** A timeout around any cancellable async function. */
export interface TimeoutPolicy {
  /**
   * Runs `fn` with a signal that aborts when the limit passes (reason: a `RelError`
   * `{ kind: 'timeout', phase: 'total', limitMs }`) or when `signal` aborts (its own reason).
   *
   * A function that declares no parameter (`() => work()`, `fn.length === 0`) cannot read that
   * signal, so none is made for it (an `AbortSignal` costs more than the rest of the call): it is
   * passed the caller's `signal` as is. The limit still rejects `execute` on time. A function
   * that reads its signal through rest parameters, a default value or `arguments` has length 0
   * too: give it a named first parameter.
   * @throws the timeout `RelError` at the limit, even if `fn` ignores its signal.
   */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * A total timeout for any `(signal) => Promise<T>`, as cockatiel's `timeout(ms,
 * TimeoutStrategy.Aggressive)` but on an injectable clock. The deadline is attached to the signal
 * `fn` receives (see `deadlineOf`), so a `retryPolicy` inside skips retries that cannot fit, and an
 * inherited deadline on `signal` is never widened.
 * @throws TypeError at creation when an option is invalid.
 * @example
 * const timeout = timeoutPolicy({ totalMs: 5_000 });
 * const res = await timeout.execute((signal) => fetch(url, { signal }));
 */
export function timeoutPolicy(options: TimeoutPolicyOptions): TimeoutPolicy {
  const { clock = systemClock, events, ...data } = options;
  const o = parseOptions(TimeoutPolicyOptionsSchema, data, 'timeoutPolicy');
  const limits = { totalMs: o.totalMs };
  const report = events
    ? (phase: 'total' | 'first_token' | 'idle', limitMs: number) => {
        if (events.has('timeout')) events.emit('timeout', { operation: o.operation, phase, limitMs });
      }
    : () => {};
  return {
    async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
      const timer = new RequestTimer(clock, signal, deadlineOf(signal), limits, false, report);
      try {
        if (timer.aborted) throw timer.failure(undefined);
        if (timer.expiredAtStart) timer.expireNow();
        const handed = fn.length === 0 ? (signal ?? NEVER_ABORTED) : withDeadline(timer.signal, timer.deadline);
        return await timer.race(fn(handed));
      } catch (error) {
        throw timer.failure(error);
      } finally {
        timer.finish();
      }
    },
  };
}
