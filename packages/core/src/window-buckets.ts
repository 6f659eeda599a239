/**
 * The settled amounts of one sliding-window key, by bucket start, with the window's sum kept as
 * buckets are added rather than summed again on every decision (a 60-bucket window was summed two
 * or three times per acquire and settle). Buckets come in time order in practice: the sum of all
 * but the newest is kept and only the newest is added to it, so the total is the same left-to-right
 * sum, bit for bit, as summing the map in insertion order. A bucket added out of order (a clock
 * that went back) switches to plain summing until the window empties.
 * @internal
 */
export class WindowBuckets {
  /** bucket start -> settled amount, in insertion order */
  readonly #amounts = new Map<number, number>();
  /** Starts of the oldest and newest bucket while in time order; `ordered` false once not. */
  #first = Number.POSITIVE_INFINITY;
  #newest = Number.NEGATIVE_INFINITY;
  #ordered = true;
  /** The insertion-order sum of every bucket but the newest; NaN: to be summed again. */
  #olderSum = 0;

  get size(): number {
    return this.#amounts.size;
  }

  /** The newest bucket's start (`-Infinity` when empty). */
  get newest(): number {
    if (this.#ordered) return this.#newest;
    let newest = Number.NEGATIVE_INFINITY;
    for (const b of this.#amounts.keys()) newest = Math.max(newest, b);
    return newest;
  }

  /** Adds `amount` to the bucket starting at `start`. */
  add(start: number, amount: number): void {
    const amounts = this.#amounts;
    const prev = amounts.get(start);
    if (prev !== undefined) {
      amounts.set(start, prev + amount);
      if (start !== this.#newest) this.#olderSum = Number.NaN;
      return;
    }
    if (amounts.size === 0) {
      this.#first = start;
      this.#olderSum = 0;
    } else if (this.#ordered && start > this.#newest) {
      this.#olderSum += amounts.get(this.#newest) as number;
    } else this.#ordered = false;
    this.#newest = Math.max(this.#newest, start);
    amounts.set(start, amount);
  }

  /** Drops the buckets that start before `oldest` and returns the sum of the rest. */
  total(oldest: number): number {
    const amounts = this.#amounts;
    if (!this.#ordered) {
      let sum = 0;
      for (const [b, amount] of amounts) {
        if (b < oldest) amounts.delete(b);
        else sum += amount;
      }
      if (amounts.size === 0) this.#reset();
      return sum;
    }
    if (this.#first < oldest) {
      for (const b of amounts.keys()) {
        if (b >= oldest) {
          this.#first = b;
          break;
        }
        amounts.delete(b);
      }
      if (amounts.size === 0) {
        this.#reset();
        return 0;
      }
      this.#olderSum = Number.NaN;
    }
    if (amounts.size === 0) return 0;
    if (Number.isNaN(this.#olderSum)) {
      let sum = 0;
      for (const [b, amount] of amounts) if (b !== this.#newest) sum += amount;
      this.#olderSum = sum;
    }
    return this.#olderSum + (amounts.get(this.#newest) as number);
  }

  /** Every bucket as `[start, amount]`, in insertion order. */
  entries(): IterableIterator<[number, number]> {
    return this.#amounts.entries();
  }

  #reset(): void {
    this.#first = Number.POSITIVE_INFINITY;
    this.#newest = Number.NEGATIVE_INFINITY;
    this.#ordered = true;
    this.#olderSum = 0;
  }
}
