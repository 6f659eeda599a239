import { RelError } from './rel-error';

/**
 * The one interface through which policies share state across instances: rate limits, budgets,
 * reservations, breaker state and retry budgets. `MemoryStore` (here) serves one process;
 * `RedisStore` (`@rel/redis`) serves many. Every method is one atomic step (one round trip in Redis).
 *
 * Failures: a store that cannot answer (unreachable, timed out, not ready) rejects with a
 * `RelError` `dependency_unavailable`, which is worth trying again; one that answered with an error
 * of its own (a Redis reply error: a key of another type, out of memory) rejects with a `RelError`
 * `internal`, which the same call will meet again. Callers decide fail-open or fail-closed on the
 * first and drop, rather than retry, a deferred write that meets the second.
 */
export interface StateStore {
  /** A short name for telemetry, e.g. `memory` or `redis`. */
  readonly name: string;
  /**
   * Checks every limit and consumes them all only if every one allows: all or nothing. Each key
   * appears at most once per call (see `assertDistinctKeys`).
   * @throws RelError `invalid_request` when a key repeats; anything when the store is
   * unreachable (callers choose fail-open or fail-closed).
   */
  acquire(ops: readonly LimitOp[]): Promise<AcquireResult>;
  /**
   * Ends a lease taken by `acquire`: removes its held amount from each key and records `amount`
   * as settled in the key's window (0 releases without charging). Returns each key's total
   * (settled + still held) after the settlement, in order. Settling an unknown or expired lease
   * still records the amount, so a settled charge is never lost.
   *
   * Every settlement is remembered for `SETTLED_MEMORY_MS`. With `options.retry` (the caller retries
   * a settlement whose first attempt may have been applied: a timed-out command that Redis still
   * ran), it is skipped when the store remembers this lease as settled, so the charge is not counted
   * twice; a store that lost its state (a Redis restarted without persistence) applies it.
   */
  settle(leaseId: string, entries: readonly SettleEntry[], options?: SettleOptions): Promise<number[]>;
  /** Current total (settled in the window + held by live leases) for a quota key. */
  total(key: string, windowMs: number): Promise<number>;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets `value` only if the current value equals `expected` (`undefined`: absent). */
  compareAndSet(key: string, expected: string | undefined, value: string, ttlMs?: number): Promise<boolean>;
  /** Adds `by` to a numeric counter (created at 0) and returns the new value; `ttlMs` applies on creation. */
  increment(key: string, by: number, ttlMs: number): Promise<number>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * - `rate`: GCRA, `limit` units per `periodMs` with bursts up to `burst` (default `limit`).
 * - `quota`: a sliding-window sum that may not pass `limit`. With `lease`, `cost` is held as a
 *   reservation until `settle` or until the lease expires (a crashed process's reservations
 *   expire); without, it is settled at once. `windowMs: 0` counts leases only (concurrency).
 */
export type LimitOp =
  | {
      readonly type: 'rate';
      readonly key: string;
      readonly limit: number;
      readonly periodMs: number;
      readonly burst?: number;
      readonly cost: number;
    }
  | {
      readonly type: 'quota';
      readonly key: string;
      readonly limit: number;
      readonly windowMs: number;
      readonly cost: number;
      readonly lease?: { readonly id: string; readonly ttlMs: number };
    };

export interface LimitResult {
  readonly key: string;
  readonly allowed: boolean;
  /** Units left after this decision (or now, when refused). */
  readonly remaining: number;
  /** Milliseconds until the limit is fully available again. */
  readonly resetMs: number;
  /** Milliseconds to wait before this request could pass; 0 when allowed. */
  readonly retryAfterMs: number;
}

export interface AcquireResult {
  readonly allowed: boolean;
  readonly results: readonly LimitResult[];
}

export interface SettleEntry {
  readonly key: string;
  readonly windowMs: number;
  readonly amount: number;
}

/** Options of `StateStore.settle`. */
export interface SettleOptions {
  /** A retry that may already have been applied: skipped if this lease was settled in the last `SETTLED_MEMORY_MS`. */
  readonly retry?: boolean;
}

/** How long a store remembers a settled lease, so a retried settlement is not applied twice. */
export const SETTLED_MEMORY_MS = 60_000;

/** Number of buckets a sliding window is divided into, in every store. */
export const WINDOW_BUCKETS = 60;

/** Bucket width for a window; stores agree on it so they count alike. */
export function bucketWidth(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / WINDOW_BUCKETS));
}

/**
 * Refuses an `acquire` that names one key twice: the ops of one call are checked against the
 * state before the call, so two ops on one key would each pass alone and overshoot together.
 * Every store calls this first, so they all refuse it alike.
 * @throws RelError `invalid_request` naming the repeated op, e.g. `ops.2.key`.
 */
export function assertDistinctKeys(ops: readonly LimitOp[]): void {
  for (let i = 1; i < ops.length; i++) {
    const key = (ops[i] as LimitOp).key;
    for (let j = 0; j < i; j++) {
      if ((ops[j] as LimitOp).key === key) {
        throw new RelError(
          { kind: 'invalid_request', param: `ops.${i}.key` },
          { message: `acquire names key "${key}" twice (ops ${j} and ${i})` },
        );
      }
    }
  }
}
