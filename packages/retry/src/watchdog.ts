import { type Clock, RelError } from '@rel/core';

/** The abort reason for a timer that is no longer needed: a shared `RelError`, so stopping allocates nothing. */
const STOPPED = new RelError({ kind: 'cancelled', reason: 'timer stopped' });
const noop = () => {};

/**
 * One timer whose due time can move. Moving it later costs nothing (the sleeping timer wakes,
 * sees it is early and sleeps the rest); only moving it earlier re-arms. So a stream's idle limit
 * costs one clock sleep per limit period, not one per chunk.
 * @internal
 */
export class Watchdog {
  readonly #clock: Clock;
  readonly #onExpire: () => void;
  #due = Number.POSITIVE_INFINITY;
  #armedAt = Number.POSITIVE_INFINITY;
  #timer: AbortController | undefined;
  #stopped = false;

  constructor(clock: Clock, onExpire: () => void) {
    this.#clock = clock;
    this.#onExpire = onExpire;
  }

  /** Sets the absolute due time (`Infinity`: none). */
  setDue(at: number): void {
    if (this.#stopped) return;
    this.#due = at;
    if (at < this.#armedAt) this.#arm(at);
  }

  /** Stops for good and releases the timer. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.abort(STOPPED);
    this.#timer = undefined;
  }

  #arm(at: number): void {
    this.#timer?.abort(STOPPED);
    const timer = new AbortController();
    this.#timer = timer;
    this.#armedAt = at;
    this.#clock.sleep(at - this.#clock.now(), timer.signal).then(() => this.#wake(timer), noop);
  }

  #wake(timer: AbortController): void {
    if (this.#timer !== timer || this.#stopped) return;
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    if (this.#clock.now() >= this.#due) {
      this.#stopped = true;
      this.#onExpire();
    } else if (Number.isFinite(this.#due)) this.#arm(this.#due);
  }
}
