import type { WindowCounts } from './breaker-options';

/** Number of buckets an in-memory window is divided into. */
const BUCKETS = 20;

/**
 * Call counts over a sliding time window, in a fixed ring of buckets: recording and reading
 * allocate nothing, so a breaker's closed-state path stays allocation-free.
 * @example
 * const w = new SlidingWindow(10_000);
 * w.record(clock.now(), true, false);
 * w.read(clock.now(), counts); // counts.failures === 1
 */
export class SlidingWindow {
  readonly #width: number;
  readonly #starts = new Float64Array(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  readonly #calls = new Uint32Array(BUCKETS);
  readonly #failures = new Uint32Array(BUCKETS);
  readonly #slow = new Uint32Array(BUCKETS);
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
    this.#width = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  /** Counts one finished call at `now`. */
  record(now: number, failed: boolean, slow: boolean): void {
    const start = Math.floor(now / this.#width) * this.#width;
    const i = Math.floor(now / this.#width) % BUCKETS;
    if (this.#starts[i] !== start) {
      this.#starts[i] = start;
      this.#calls[i] = 0;
      this.#failures[i] = 0;
      this.#slow[i] = 0;
    }
    this.#calls[i]! += 1;
    if (failed) this.#failures[i]! += 1;
    if (slow) this.#slow[i]! += 1;
  }

  /** Writes the counts of the window ending at `now` into `out` and returns it. */
  read(now: number, out: WindowCounts): WindowCounts {
    const oldest = Math.floor(now / this.#width) * this.#width - this.#windowMs + this.#width;
    out.calls = 0;
    out.failures = 0;
    out.slow = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#starts[i]! < oldest) continue;
      out.calls += this.#calls[i]!;
      out.failures += this.#failures[i]!;
      out.slow += this.#slow[i]!;
    }
    return out;
  }

  /** Forgets every call. */
  clear(): void {
    this.#starts.fill(Number.NEGATIVE_INFINITY);
  }
}
