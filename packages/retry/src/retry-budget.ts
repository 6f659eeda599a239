import { type Clock, type StateStore, systemClock } from '@rel/core';
import { z } from 'zod';
import { parseOptions } from './options';

/**
 * Options of a `RetryBudget`.
 * @example new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 5, windowMs: 30_000, store, key: 'rel:retry:openai' })
 */
export const RetryBudgetOptionsSchema = z.strictObject({
  /** Retries allowed per request in the window: 0.2 means retries stay under 20% of requests. */
  ratio: z.number().min(0).max(100).default(0.2),
  /** A floor so a quiet service can still retry: this many retries per second of window, always. */
  minRetriesPerSecond: z.number().min(0).default(1),
  /** The sliding window, divided into ten buckets. */
  windowMs: z.number().int().min(10).default(10_000),
  /** Store key prefix; instances sharing a store and a key share one budget. */
  key: z.string().min(1).default('rel:retry-budget'),
});
export type RetryBudgetOptions = z.input<typeof RetryBudgetOptionsSchema> & {
  /** Share the budget across instances and processes (e.g. `MemoryStore`, `RedisStore`). Default: this instance only. */
  store?: StateStore;
  clock?: Clock;
  /** Called when the store fails; the budget then fails open (the retry is allowed). */
  onStoreError?: (error: unknown) => void;
};

/** The budget's view of its window. */
export interface RetryBudgetSnapshot {
  readonly requests: number;
  readonly retries: number;
  /** Retries the window allows in all: `ratio * requests + minRetriesPerSecond * windowMs / 1000`. */
  readonly allowance: number;
}

const BUCKETS = 10;

/**
 * A retry budget, as gRPC and Finagle keep one: every logical request deposits, every retry (and
 * hedge) withdraws, and a retry is allowed only while the retries in the sliding window stay
 * within `ratio * requests + minRetriesPerSecond * windowSeconds`. During an outage the retries
 * stop growing with the failures, so retrying never turns an outage into a storm.
 *
 * Without a `store` the counts live in this instance. With one, they are bucketed counters
 * (`store.increment`), shared by every instance with the same store and `key`; a retry
 * increments first and checks after (undoing its increment when refused), so concurrent
 * instances never overshoot. A failing store fails open.
 *
 * @example
 * const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 });
 * const policy = retryPolicy({ maxAttempts: 4, budget });
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly windowMs: number;
  readonly key: string;
  readonly #store: StateStore | undefined;
  readonly #clock: Clock;
  readonly #onStoreError: (error: unknown) => void;
  readonly #width: number;
  readonly #floor: number;
  readonly #starts = new Array<number>(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  readonly #requests = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);

  constructor(options: RetryBudgetOptions = {}) {
    const { store, clock, onStoreError, ...data } = options;
    const o = parseOptions(RetryBudgetOptionsSchema, data, 'RetryBudget');
    this.ratio = o.ratio;
    this.minRetriesPerSecond = o.minRetriesPerSecond;
    this.windowMs = o.windowMs;
    this.key = o.key;
    this.#store = store;
    this.#clock = clock ?? systemClock;
    this.#onStoreError = onStoreError ?? (() => {});
    this.#width = Math.ceil(o.windowMs / BUCKETS);
    this.#floor = (o.minRetriesPerSecond * o.windowMs) / 1000;
  }

  /** Deposits one logical request. Cheap: with a store, the increment is not awaited. */
  recordRequest(): void {
    const start = this.#bucketStart();
    if (this.#store) {
      this.#store.increment(`${this.key}:q:${start}`, 1, this.windowMs + this.#width).catch(this.#onStoreError);
      return;
    }
    this.#requests[this.#slot(start)]! += 1;
  }

  /**
   * Withdraws one retry if the budget allows it.
   * @returns whether the retry may go ahead.
   */
  async tryWithdraw(): Promise<boolean> {
    const start = this.#bucketStart();
    if (!this.#store) {
      const { requests, retries } = this.#localCounts(start);
      if (retries + 1 > this.#allowance(requests)) return false;
      this.#retries[this.#slot(start)]! += 1;
      return true;
    }
    const store = this.#store;
    const ttl = this.windowMs + this.#width;
    const current = `${this.key}:r:${start}`;
    try {
      const [mine, requests, older] = await Promise.all([
        store.increment(current, 1, ttl),
        this.#sum(store, 'q', start, true),
        this.#sum(store, 'r', start, false),
      ]);
      if (mine + older <= this.#allowance(requests)) return true;
      await store.increment(current, -1, ttl);
      return false;
    } catch (error) {
      this.#onStoreError(error);
      return true;
    }
  }

  /** The counts in the current window. */
  async snapshot(): Promise<RetryBudgetSnapshot> {
    const start = this.#bucketStart();
    let counts: { requests: number; retries: number };
    if (this.#store) {
      const [requests, retries] = await Promise.all([
        this.#sum(this.#store, 'q', start, true),
        this.#sum(this.#store, 'r', start, true),
      ]);
      counts = { requests, retries };
    } else counts = this.#localCounts(start);
    return { ...counts, allowance: this.#allowance(counts.requests) };
  }

  #allowance(requests: number): number {
    return this.ratio * requests + this.#floor;
  }

  #bucketStart(): number {
    return Math.floor(this.#clock.now() / this.#width) * this.#width;
  }

  /** The ring slot of a bucket, reset when it last held an older bucket. */
  #slot(start: number): number {
    const i = Math.floor(start / this.#width) % BUCKETS;
    if (this.#starts[i] !== start) {
      this.#starts[i] = start;
      this.#requests[i] = 0;
      this.#retries[i] = 0;
    }
    return i;
  }

  #localCounts(start: number): { requests: number; retries: number } {
    const oldest = start - (BUCKETS - 1) * this.#width;
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const s = this.#starts[i]!;
      if (s >= oldest && s <= start) {
        requests += this.#requests[i]!;
        retries += this.#retries[i]!;
      }
    }
    return { requests, retries };
  }

  async #sum(store: StateStore, kind: 'q' | 'r', start: number, includeCurrent: boolean): Promise<number> {
    const reads: Promise<string | undefined>[] = [];
    for (let b = includeCurrent ? 0 : 1; b < BUCKETS; b++)
      reads.push(store.get(`${this.key}:${kind}:${start - b * this.#width}`));
    let total = 0;
    for (const v of await Promise.all(reads)) if (v !== undefined) total += Number(v) || 0;
    return total;
  }
}
