import { RelError } from './rel-error';

/**
 * Time as policies see it. Inject a `FakeClock` (from `@rel/core/testing`) to run time-based
 * behaviour in tests without real sleeps.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts; the abort
   * listener and the timer are always removed.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock, on `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

/** The signal's reason as something throwable: a `RelError` passes through, anything else becomes `cancelled`. */
export function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (RelError.is(reason)) return reason;
  return new RelError(
    { kind: 'cancelled', ...(reason instanceof Error && reason.message ? { reason: reason.message } : {}) },
    { cause: reason },
  );
}
