/**
 * Keeps the calls on a hand-written async iterator in order, as an async generator keeps them: a
 * call made while another is in progress waits until that one settles. Stream wrappers that are
 * plain iterator classes (cheaper per chunk than a generator) hold one.
 * @example
 * next() {
 *   if (this.#gate.busy !== undefined) return this.#gate.after(() => this.next());
 *   return this.#gate.track(this.#read());
 * }
 */
export class CallGate {
  /** The call in progress; a caller may set it itself, and clear it when that call is done. */
  busy: Promise<unknown> | undefined = undefined;

  /** Runs `call` once the call in progress has settled, whether it resolved or rejected. */
  after<T>(call: () => Promise<T>): Promise<T> {
    const busy = this.busy;
    return busy === undefined ? call() : busy.then(call, call);
  }

  /** Makes `work` the call in progress until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(this.#idle);
    this.busy = tracked;
    return tracked;
  }

  readonly #idle = (): void => {
    this.busy = undefined;
  };
}
