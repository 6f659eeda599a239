/**
 * Recent latencies in a fixed ring (the last `size` samples) and a percentile over them,
 * recomputed at most every `size / 8` samples so reading it stays cheap.
 * @example
 * const t = new LatencyTracker();
 * t.record(120);
 * t.percentile(0.95) // undefined until `minSamples` samples were recorded
 */
export class LatencyTracker {
  readonly #ring: Float64Array;
  readonly #minSamples: number;
  readonly #refreshEvery: number;
  #count = 0;
  #sinceRefresh = 0;
  #cached = new Map<number, number>();

  constructor(options: { size?: number; minSamples?: number } = {}) {
    const size = Math.max(1, options.size ?? 128);
    this.#ring = new Float64Array(size);
    this.#minSamples = Math.max(1, Math.min(size, options.minSamples ?? 20));
    this.#refreshEvery = Math.max(1, Math.floor(size / 8));
  }

  /** Number of samples held (at most the ring's size). */
  get samples(): number {
    return Math.min(this.#count, this.#ring.length);
  }

  record(ms: number): void {
    this.#ring[this.#count % this.#ring.length] = ms;
    this.#count++;
    if (++this.#sinceRefresh >= this.#refreshEvery) {
      this.#sinceRefresh = 0;
      this.#cached.clear();
    }
  }

  /** The `p` quantile (0..1) of the held samples, nearest-rank; `undefined` under `minSamples`. */
  percentile(p: number): number | undefined {
    const n = this.samples;
    if (n < this.#minSamples) return undefined;
    const hit = this.#cached.get(p);
    if (hit !== undefined) return hit;
    const sorted = this.#ring.slice(0, n).sort();
    const value = sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
    this.#cached.set(p, value);
    return value;
  }
}
