import type { Abortable } from './abortable';

/**
 * What cancels one request, as an `AbortController` does, without making the controller or its
 * signal until something asks for `signal`. Layers below listen through `onAbort`, a plain list,
 * where an `AbortSignal` would add and remove an `EventTarget` listener per layer: a gateway
 * makes one per request and aborts almost none.
 * @example
 * const source = new AbortSource();
 * const ctx = new RequestContext({ signal: source });
 * res.on('close', () => source.abort(new RelError({ kind: 'cancelled', reason: 'client closed the connection' })));
 */
export class AbortSource implements Abortable {
  #aborted = false;
  #reason: unknown;
  /** Listeners still waiting; emptied by `abort`. */
  #listeners: (() => void)[] = [];
  #ctrl: AbortController | undefined;

  /** True once `abort` was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** What `abort` was given (an `AbortError` when it was given nothing); undefined before. */
  get reason(): unknown {
    return this.#reason;
  }

  /** An `AbortSignal` that aborts with this source, with the same reason; made on first read. */
  get signal(): AbortSignal {
    if (this.#ctrl === undefined) {
      const ctrl = new AbortController();
      this.#ctrl = ctrl;
      if (this.#aborted) ctrl.abort(this.#reason);
    }
    return this.#ctrl.signal;
  }

  /**
   * Calls `listener` once, on `abort`. Not called when this source has already aborted (check
   * `aborted` first).
   * @returns the function that removes the listener; calling it twice is harmless.
   */
  onAbort(listener: () => void): () => void {
    if (this.#aborted) return noop;
    this.#listeners.push(listener);
    let removed = false;
    return () => {
      // Each remover takes away one entry, once: a function added twice stays until both go.
      if (removed) return;
      removed = true;
      const list = this.#listeners;
      const at = list.lastIndexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  }

  /**
   * Aborts: `aborted` becomes true, the signal (if made) aborts, then every listener runs once,
   * in the order added. A second call does nothing. Every listener runs even when one throws;
   * the first error is rethrown once all have run.
   * @param reason what the signal's `reason` becomes; default an `AbortError` `DOMException`.
   */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.#ctrl?.abort(this.#reason);
    const listeners = this.#listeners;
    this.#listeners = [];
    let failed = false;
    let first: unknown;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        if (!failed) {
          failed = true;
          first = error;
        }
      }
    }
    if (failed) throw first;
  }
}

const noop = () => {};
