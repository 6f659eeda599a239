/**
 * Something that may be cancelled, whose `AbortSignal` is made only when someone asks for it.
 *
 * An `AbortController` costs a few microseconds to make (more than the rest of a middleware's
 * work on the success path), and most requests end without ever being aborted or handing a signal
 * to I/O. Layers that only need to know whether they were cancelled, or to be told when, use
 * `aborted` and `onAbort`; only code that hands a signal to I/O (`fetch`, a sleep) reads `signal`.
 * `RequestContext` is one; `@rel/retry`'s request timer is another, given to `ctx.derive`.
 * @example
 * if (ctx.aborted) throw abortReason(ctx.signal);
 * const stop = ctx.onAbort(() => socket.destroy());
 * try { await work(); } finally { stop(); }
 */
export interface Abortable {
  /** True once cancelled. Reading it makes no signal. */
  readonly aborted: boolean;
  /** The signal: made on first read, already aborted (with the same reason) if this has been. */
  readonly signal: AbortSignal;
  /**
   * Calls `listener` once when this aborts. Not called when it has already aborted (check
   * `aborted` first). Returns the function that removes the listener; calling it twice is harmless.
   */
  onAbort(listener: () => void): () => void;
}

const noop = () => {};

/** True when `value` is an `Abortable` rather than a plain `AbortSignal`. */
export function isAbortable(value: AbortSignal | Abortable): value is Abortable {
  return typeof (value as Partial<Abortable>).onAbort === 'function';
}

/**
 * The `Abortable` view of a plain signal (`undefined`: one that never aborts), for code that takes
 * either from its caller.
 * @example const parent = abortableOf(options.signal);
 */
export function abortableOf(signal: AbortSignal | undefined): Abortable {
  if (signal === undefined) return NEVER;
  return {
    get aborted() {
      return signal.aborted;
    },
    signal,
    onAbort(listener) {
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}

/** Never aborts; its signal is made on first read, one per reader (no shared listener list). */
const NEVER: Abortable = {
  aborted: false,
  get signal() {
    return new AbortController().signal;
  },
  onAbort: () => noop,
};
