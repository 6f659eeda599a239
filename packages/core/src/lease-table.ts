/**
 * The live leases of one quota key in `MemoryStore`: lease id -> amount and expiry. A key almost
 * always holds at most one (one request's reservation, taken in `acquire` and gone in `settle`), so
 * the first lease sits in plain fields and only the others go in a `Map`. A `Map` that is filled
 * and emptied on every request reallocates its table each time; the fields cost nothing.
 * @internal
 */
export class LeaseTable {
  /** The inline lease's id; undefined when the slot is free. */
  #id: string | undefined = undefined;
  #amount = 0;
  #expiresAt = 0;
  /** Leases beyond the inline one, made on first use. */
  #more: Map<string, [amount: number, expiresAt: number]> | undefined = undefined;

  /** Number of live leases held. */
  get size(): number {
    return (this.#id === undefined ? 0 : 1) + (this.#more?.size ?? 0);
  }

  /** Adds or replaces the lease `id`. */
  set(id: string, amount: number, expiresAt: number): void {
    if (this.#id === id || (this.#id === undefined && !this.#more?.has(id))) {
      this.#id = id;
      this.#amount = amount;
      this.#expiresAt = expiresAt;
      return;
    }
    this.#more ??= new Map();
    this.#more.set(id, [amount, expiresAt]);
  }

  /** Removes the lease `id`, if held. */
  delete(id: string): void {
    if (this.#id === id) this.#id = undefined;
    else this.#more?.delete(id);
  }

  /** `start` plus each held amount in turn (the inline lease first). */
  addAmounts(start: number): number {
    let sum = this.#id === undefined ? start : start + this.#amount;
    if (this.#more) for (const lease of this.#more.values()) sum += lease[0];
    return sum;
  }

  /** The latest expiry held, or `-Infinity` when none is. */
  latestExpiry(): number {
    let latest = this.#id === undefined ? Number.NEGATIVE_INFINITY : this.#expiresAt;
    if (this.#more) for (const lease of this.#more.values()) if (lease[1] > latest) latest = lease[1];
    return latest;
  }

  /** Calls `fn` with each lease's amount and expiry. */
  forEach(fn: (amount: number, expiresAt: number) => void): void {
    if (this.#id !== undefined) fn(this.#amount, this.#expiresAt);
    if (this.#more) for (const lease of this.#more.values()) fn(lease[0], lease[1]);
  }

  /** Drops the leases that expired by `now`; returns the earliest expiry left (`Infinity`: none). */
  dropExpired(now: number): number {
    let until = Number.POSITIVE_INFINITY;
    if (this.#id !== undefined) {
      if (this.#expiresAt <= now) this.#id = undefined;
      else until = this.#expiresAt;
    }
    if (this.#more) {
      for (const [id, lease] of this.#more) {
        if (lease[1] <= now) this.#more.delete(id);
        else if (lease[1] < until) until = lease[1];
      }
    }
    return until;
  }
}
