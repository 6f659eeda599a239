const deadlines = new WeakMap<AbortSignal, number>();

/**
 * Attaches an absolute deadline (clock milliseconds) to a signal, so a policy nested inside a
 * `timeoutPolicy` sees how much time is left without an extra parameter. `timeoutPolicy` does this
 * for the signal it hands to its function; `retryPolicy` reads it to skip retries that cannot fit.
 * @returns the same signal.
 * @example withDeadline(controller.signal, clock.now() + 5_000)
 */
export function withDeadline(signal: AbortSignal, deadline: number): AbortSignal {
  const known = deadlines.get(signal);
  deadlines.set(signal, known === undefined ? deadline : Math.min(known, deadline));
  return signal;
}

/**
 * The deadline attached to a signal by `withDeadline` (or a `timeoutPolicy`), if any.
 * @example const left = (deadlineOf(signal) ?? Number.POSITIVE_INFINITY) - clock.now();
 */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal === undefined ? undefined : deadlines.get(signal);
}
