import { type Clock, setTimer } from '@rel/core';

/**
 * One timer whose due time can move. Moving it later costs nothing (the timer wakes, sees it is
 * early and re-arms for the rest); only moving it earlier re-arms at once. So a stream's idle
 * limit costs one timer per limit period, not one per chunk.
 *
 * The timer is the clock's cancellable `setTimer` (a plain `setTimeout` on the system clock):
 * stopping it is a `clearTimeout`, with no `AbortController` made or aborted on the way.
 * @internal
 */
export class Watchdog {
  readonly #clock: Clock;
  readonly #onExpire: () => void;
  #due = Number.POSITIVE_INFINITY;
  #armedAt = Number.POSITIVE_INFINITY;
  #cancel: (() => void) | undefined;
  /** Tells the current timer from a replaced one, whose late call is ignored. */
  #generation = 0;
  #stopped = false;

  constructor(clock: Clock, onExpire: () => void) {
    this.#clock = clock;
    this.#onExpire = onExpire;
  }

  /**
   * Sets the absolute due time (`Infinity`: none).
   * @param now the caller's reading of the clock, when it has one (saves reading it again)
   */
  setDue(at: number, now?: number): void {
    if (this.#stopped) return;
    this.#due = at;
    if (at < this.#armedAt) this.#arm(at, now ?? this.#clock.now());
  }

  /** Stops for good and releases the timer. */
  stop(): void {
    this.#stopped = true;
    this.#generation++;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #arm(at: number, now: number): void {
    this.#cancel?.();
    this.#cancel = undefined;
    const generation = ++this.#generation;
    this.#armedAt = at;
    const cancel = setTimer(this.#clock, at - now, () => this.#wake(generation));
    // A clock may call back synchronously (a due time already passed); keep only a live timer's cancel.
    if (generation === this.#generation && !this.#stopped) this.#cancel = cancel;
  }

  #wake(generation: number): void {
    if (generation !== this.#generation || this.#stopped) return;
    this.#cancel = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    if (now >= this.#due) {
      this.#stopped = true;
      this.#onExpire();
    } else if (Number.isFinite(this.#due)) this.#arm(this.#due, now);
  }
}
