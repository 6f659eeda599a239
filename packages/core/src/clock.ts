import { RelError } from './rel-error';

/**
 * Time as policies see it. Inject a `FakeClock` (from `@rel/core/testing`) to run time-based
 * behaviour in tests without real sleeps.
 *
 * `setTimer` and `monotonic` are optional: a clock without them still works everywhere, through
 * the `setTimer(clock, ...)` and `stopwatch(clock)` helpers, which fall back to `sleep` and `now`.
 * Build a custom clock from its own functions rather than by spreading `systemClock`: a spread
 * that replaces `now` or `sleep` but keeps the system's `setTimer` or `monotonic` would mix real
 * and fake time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts; the abort
   * listener and the timer are always removed. A negative or NaN wait is zero; an infinite one
   * only ends by abort.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Calls `fn` once after `ms` unless the returned function is called first (calling it later
   * does nothing). Cheaper than `sleep` with an `AbortController` when a timer is usually
   * cancelled. Optional: use the `setTimer(clock, ms, fn)` helper, which falls back to `sleep`.
   */
  setTimer?(ms: number, fn: () => void): () => void;
  /**
   * A monotonic, sub-millisecond reading in milliseconds from an arbitrary origin, for measuring
   * durations (never for dates). Optional: use `stopwatch(clock)`, which falls back to `now`.
   */
  monotonic?(): number;
}

/** The longest delay `setTimeout` accepts; a longer one would fire after 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A wait in milliseconds as timers take it: NaN and negatives are 0, Infinity stays. */
export function normalizeDelay(ms: number): number {
  return Number.isNaN(ms) || ms < 0 ? 0 : ms;
}

/**
 * A `setTimeout` that accepts any delay: longer than ~24.8 days is chained, `Infinity` never fires.
 * Returns the cancel function.
 */
function realTimer(ms: number, fn: () => void): () => void {
  const delay = normalizeDelay(ms);
  if (delay <= MAX_TIMEOUT_MS) {
    // The common case: one timer, no clock reading.
    const timer = setTimeout(fn, delay);
    return () => clearTimeout(timer);
  }
  let handle: ReturnType<typeof setTimeout> | undefined;
  const due = Date.now() + ms;
  const arm = (left: number) => {
    if (left === Number.POSITIVE_INFINITY) return;
    if (left <= MAX_TIMEOUT_MS) {
      handle = setTimeout(fn, left);
      return;
    }
    handle = setTimeout(() => arm(due - Date.now()), MAX_TIMEOUT_MS);
  };
  arm(delay);
  return () => clearTimeout(handle);
}

/** The real clock, on `Date.now`, `setTimeout` and `performance.now`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = () => {
        cancel();
        reject(abortReason(signal as AbortSignal));
      };
      const cancel = realTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  setTimer: realTimer,
  monotonic: () => performance.now(),
};

const noop = () => {};

/**
 * Calls `fn` once after `ms` on `clock` unless the returned cancel function is called first. Uses
 * `clock.setTimer` when the clock has one, and `clock.sleep` otherwise, so it works with any clock.
 * An error thrown by `fn` is not caught.
 * @param ms the delay; negative or NaN is 0, `Infinity` never fires.
 * @returns a function that cancels the timer; calling it after the timer fired does nothing.
 * @example
 * const cancel = setTimer(clock, 5_000, () => controller.abort(timeoutError));
 * try { return await work(controller.signal); } finally { cancel(); }
 */
export function setTimer(clock: Clock, ms: number, fn: () => void): () => void {
  if (clock.setTimer) return clock.setTimer(ms, fn);
  const ctrl = new AbortController();
  clock.sleep(ms, ctrl.signal).then(() => {
    if (!ctrl.signal.aborted) fn();
  }, noop);
  return () => ctrl.abort();
}

/**
 * Starts measuring a duration on `clock`: with `clock.monotonic` (the system clock has
 * `performance.now`) sub-millisecond and immune to wall-clock jumps, otherwise from `clock.now`.
 * With a `FakeClock`, durations follow the fake time.
 * @returns a function giving the milliseconds elapsed since `stopwatch` was called.
 * @example
 * const elapsed = stopwatch(ctx.clock);
 * await check(text);
 * verdict.latencyMs = elapsed(); // 0.42
 */
export function stopwatch(clock: Clock = systemClock): () => number {
  const read = () => (clock.monotonic ? clock.monotonic() : clock.now());
  const start = read();
  return () => read() - start;
}

/** The signal's reason as something throwable: a `RelError` passes through, anything else becomes `cancelled`. */
export function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (RelError.is(reason)) return reason;
  return new RelError(
    { kind: 'cancelled', ...(reason instanceof Error && reason.message ? { reason: reason.message } : {}) },
    { cause: reason },
  );
}
