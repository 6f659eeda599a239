import { type Clock, abortReason, normalizeDelay } from '../clock';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A manual clock for tests: time moves only when you `advance` it (or `runAll`), and sleepers wake
 * in deadline order, so timing behaviour is tested exactly and instantly.
 * @example
 * const clock = new FakeClock();
 * const p = clock.sleep(1000);
 * await clock.advance(1000); // p is now resolved
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const timer: Timer = {
        at: this.#now + normalizeDelay(ms),
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
    });
  }

  /** Calls `fn` when fake time reaches `now() + ms`, unless cancelled first (see `Clock.setTimer`). */
  setTimer(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.#now + normalizeDelay(ms), seq: this.#seq++, resolve: fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** The fake time, so durations measured with `stopwatch` follow `advance`. */
  monotonic(): number {
    return this.#now;
  }

  /** Number of sleepers and timers still waiting (an infinite sleep counts until aborted). */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, waking each sleeper at its own deadline in order and letting
   * promise callbacks run between wake-ups, so code that sleeps again is woken in the same call.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`FakeClock.advance(${ms}): time moves forward by a finite number of milliseconds`);
    }
    const target = this.#now + ms;
    await flush();
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > target) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.resolve();
      await flush();
    }
    this.#now = target;
    await flush();
  }

  /**
   * Advances to each pending deadline in turn until nobody sleeps (at most `limit` wake-ups).
   * Infinite sleeps are left waiting.
   */
  async runAll(limit = 10_000): Promise<void> {
    await flush();
    for (let i = 0; i < limit; i++) {
      const next = this.#earliest();
      if (!next) return;
      await this.advance(next.at - this.#now);
    }
    throw new Error(`FakeClock.runAll: still ${this.#timers.length} sleepers after ${limit} wake-ups`);
  }

  /** The next timer to wake; an infinite sleep never does. */
  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (t.at === Number.POSITIVE_INFINITY) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
