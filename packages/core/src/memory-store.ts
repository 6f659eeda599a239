import { type Clock, systemClock } from './clock';
import { LeaseTable } from './lease-table';
import { SettledLeases } from './settled-leases';
import { WindowBuckets } from './window-buckets';
import {
  type AcquireResult,
  type LimitOp,
  type LimitResult,
  type SettleEntry,
  type SettleOptions,
  SETTLED_MEMORY_MS,
  type StateStore,
  assertDistinctKeys,
  bucketWidth,
} from './store';

interface QuotaState {
  /** bucket start -> settled amount, with the window's running sum */
  buckets: WindowBuckets;
  /** lease id -> amount, expiresAt */
  leases: LeaseTable;
  /** No lease expires before this (a lower bound: a lease that ends early does not raise it). */
  leasesUntil: number;
}
interface Entry {
  value: string | number | QuotaState;
  expiresAt: number;
}

/** One op's decision inside `acquire`, in reused scratch objects rather than per-op closures. */
interface Plan {
  allowed: boolean;
  /** The result's hints when this op's decision stands (committed, or itself refused). */
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
  /** The hints when this op passed but another refused, so nothing was taken. */
  remainingAsIs: number;
  resetAsIs: number;
  /** Whether committing writes anything. */
  commit: boolean;
  /** Rate: the new TAT. Quota: the bucket the cost goes to. */
  at: number;
  quota: QuotaState | undefined;
}

function newPlan(): Plan {
  return {
    allowed: false,
    remaining: 0,
    resetMs: 0,
    retryAfterMs: 0,
    remainingAsIs: 0,
    resetAsIs: 0,
    commit: false,
    at: 0,
    quota: undefined,
  };
}

export interface MemoryStoreOptions {
  clock?: Clock;
  /** Most keys kept; past it the least recently written are evicted. Default 1,000,000. */
  maxKeys?: number;
}

/**
 * The in-process `StateStore`: bounded (least recently written keys evicted past `maxKeys`) and
 * with TTL eviction, so a million distinct users do not grow memory for ever. Expired keys are
 * reclaimed by an incremental cursor sweep on writes, before capacity forces an eviction. Settled
 * lease ids are remembered for `SETTLED_MEMORY_MS` (for `settle(..., { retry: true })`), at most
 * `maxKeys` of them.
 * @example const store = new MemoryStore({ maxKeys: 100_000 });
 */
export class MemoryStore implements StateStore {
  readonly name = 'memory';
  readonly #map = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #maxKeys: number;
  #cursor: MapIterator<[string, Entry]> | undefined;
  /** The lease ids settled in the last `SETTLED_MEMORY_MS`. */
  readonly #settled: SettledLeases;
  /** Scratch decisions of `acquire`, grown to the longest call seen. */
  readonly #plans: Plan[] = [];

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxKeys = options.maxKeys ?? 1_000_000;
    this.#settled = new SettledLeases(SETTLED_MEMORY_MS, this.#maxKeys);
  }

  /** Number of live keys, for tests and memory benchmarks. */
  get size(): number {
    return this.#map.size;
  }

  async acquire(ops: readonly LimitOp[]): Promise<AcquireResult> {
    assertDistinctKeys(ops);
    const now = this.#clock.now();
    // Two passes over plain arrays, no per-op closures: decide every op against the state before
    // the call, then (only if all allow) commit them in order. The body never awaits, so the
    // scratch plans cannot be shared by two calls at once.
    const n = ops.length;
    const plans = this.#plans;
    while (plans.length < n) plans.push(newPlan());
    let allowed = true;
    for (let i = 0; i < n; i++) {
      const op = ops[i] as LimitOp;
      const plan = plans[i] as Plan;
      if (op.type === 'rate') this.#planRate(op, now, plan);
      else this.#planQuota(op, now, plan);
      if (!plan.allowed) allowed = false;
    }
    const results = new Array<LimitResult>(n);
    for (let i = 0; i < n; i++) {
      const op = ops[i] as LimitOp;
      const plan = plans[i] as Plan;
      if (allowed) this.#commit(op, plan, now);
      // A refused call reports the ops that would have passed as unchanged: nothing was taken.
      const asIs = !allowed && plan.allowed;
      results[i] = {
        key: op.key,
        allowed: plan.allowed,
        remaining: asIs ? plan.remainingAsIs : plan.remaining,
        resetMs: asIs ? plan.resetAsIs : plan.resetMs,
        retryAfterMs: plan.retryAfterMs,
      };
      plan.quota = undefined; // holds no state past the call
    }
    return { allowed, results };
  }

  async settle(leaseId: string, entries: readonly SettleEntry[], options: SettleOptions = {}): Promise<number[]> {
    const now = this.#clock.now();
    const n = entries.length;
    const totals = new Array<number>(n);
    if (options.retry && this.#settled.has(leaseId, now)) {
      for (let i = 0; i < n; i++) {
        const e = entries[i] as SettleEntry;
        totals[i] = this.#quotaTotal(this.#quota(e.key, now), e.windowMs, now);
      }
      return totals;
    }
    this.#settled.add(leaseId, now);
    for (let i = 0; i < n; i++) {
      const e = entries[i] as SettleEntry;
      const q = this.#quota(e.key, now);
      q.leases.delete(leaseId);
      if (e.amount !== 0 && e.windowMs > 0) {
        const w = bucketWidth(e.windowMs);
        const b = Math.floor(now / w) * w;
        q.buckets.add(b, e.amount);
      }
      this.#write(e.key, q, now + Math.max(e.windowMs, this.#maxLeaseLeft(q, now)), now);
      totals[i] = this.#quotaTotal(q, e.windowMs, now);
    }
    return totals;
  }

  async total(key: string, windowMs: number): Promise<number> {
    const now = this.#clock.now();
    return this.#quotaTotal(this.#quota(key, now), windowMs, now);
  }

  async get(key: string): Promise<string | undefined> {
    return this.#read(key, this.#clock.now());
  }

  #read(key: string, now: number): string | undefined {
    const v = this.#live(key, now)?.value;
    return v === undefined ? undefined : typeof v === 'object' ? undefined : String(v);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const now = this.#clock.now();
    this.#write(key, value, ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs, now);
  }

  /** Atomic: the read and the write happen in one synchronous step, with no await between them. */
  async compareAndSet(key: string, expected: string | undefined, value: string, ttlMs?: number): Promise<boolean> {
    const now = this.#clock.now();
    if (this.#read(key, now) !== expected) return false;
    this.#write(key, value, ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs, now);
    return true;
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    const next = (typeof entry?.value === 'number' ? entry.value : Number(entry?.value ?? 0)) + by;
    this.#write(key, next, entry ? entry.expiresAt : now + ttlMs, now);
    return next;
  }

  async delete(key: string): Promise<void> {
    this.#map.delete(key);
  }

  async close(): Promise<void> {
    this.#map.clear();
    this.#settled.clear();
    this.#cursor = undefined;
  }

  /** Decides one GCRA op into `plan`, changing nothing. */
  #planRate(op: Extract<LimitOp, { type: 'rate' }>, now: number, plan: Plan): void {
    plan.quota = undefined;
    if (!(op.limit > 0)) {
      // A zero limit never admits a positive cost; without this guard the interval is Infinity and
      // the hints come out NaN.
      const allowed = op.cost <= 0;
      plan.allowed = allowed;
      plan.remaining = plan.remainingAsIs = 0;
      plan.resetMs = plan.resetAsIs = 0;
      plan.retryAfterMs = allowed ? 0 : Math.max(1, op.periodMs);
      plan.commit = false;
      return;
    }
    const interval = op.periodMs / op.limit;
    const burst = op.burst ?? op.limit;
    const tolerance = burst * interval;
    const entry = this.#live(op.key, now);
    const tat = Math.max(typeof entry?.value === 'number' ? entry.value : now, now);
    const newTat = tat + op.cost * interval;
    const allowed = newTat - now <= tolerance;
    const after = allowed ? newTat : tat;
    plan.allowed = allowed;
    plan.remaining = Math.max(0, Math.floor((tolerance - (after - now)) / interval));
    plan.resetMs = Math.max(0, Math.ceil(after - now));
    plan.retryAfterMs = allowed ? 0 : Math.max(0, Math.ceil(newTat - now - tolerance));
    plan.remainingAsIs = Math.max(0, Math.floor((tolerance - (tat - now)) / interval));
    plan.resetAsIs = Math.max(0, Math.ceil(tat - now));
    plan.commit = true;
    plan.at = newTat;
  }

  /** Decides one sliding-window op into `plan`; only expired leases and buckets are dropped. */
  #planQuota(op: Extract<LimitOp, { type: 'quota' }>, now: number, plan: Plan): void {
    const q = this.#quota(op.key, now);
    const used = this.#quotaTotal(q, op.windowMs, now);
    const allowed = used + op.cost <= op.limit;
    const w = bucketWidth(op.windowMs);
    const bucket = Math.floor(now / w) * w;
    // When the amount this decision adds will leave again: its lease's expiry, or its bucket's.
    let added = 0;
    if (allowed && op.cost > 0) added = op.lease ? op.lease.ttlMs : op.windowMs > 0 ? bucket + op.windowMs - now : 0;
    const reset = this.#fullReset(q, op.windowMs, now);
    plan.allowed = allowed;
    plan.remaining = Math.max(0, op.limit - used - (allowed ? op.cost : 0));
    plan.resetMs = Math.max(reset, added);
    plan.retryAfterMs = allowed ? 0 : waitToFree(this.#releases(q, op.windowMs, now), used + op.cost - op.limit);
    plan.remainingAsIs = Math.max(0, op.limit - used);
    plan.resetAsIs = reset;
    plan.commit = true;
    plan.at = bucket;
    plan.quota = q;
  }

  /** Applies a decided op: the new TAT of a rate, the lease or bucket of a quota. */
  #commit(op: LimitOp, plan: Plan, now: number): void {
    if (!plan.commit) return;
    if (op.type === 'rate') {
      this.#write(op.key, plan.at, plan.at, now);
      return;
    }
    const q = plan.quota as QuotaState;
    if (op.lease) {
      const expiresAt = now + op.lease.ttlMs;
      q.leases.set(op.lease.id, op.cost, expiresAt);
      if (expiresAt < q.leasesUntil) q.leasesUntil = expiresAt;
    } else if (op.windowMs > 0) q.buckets.add(plan.at, op.cost);
    this.#write(op.key, q, now + Math.max(op.windowMs, this.#maxLeaseLeft(q, now)), now);
  }

  /** Milliseconds until everything held or counted in the window has been given back. */
  #fullReset(q: QuotaState, windowMs: number, now: number): number {
    let latest = 0;
    if (windowMs > 0 && q.buckets.size > 0) latest = Math.max(latest, q.buckets.newest + windowMs - now);
    latest = Math.max(latest, q.leases.latestExpiry() - now);
    return Math.max(0, Math.ceil(latest));
  }

  #quota(key: string, now: number): QuotaState {
    const v = this.#live(key, now)?.value;
    if (typeof v === 'object') {
      if (now >= v.leasesUntil) v.leasesUntil = v.leases.dropExpired(now);
      return v;
    }
    return { buckets: new WindowBuckets(), leases: new LeaseTable(), leasesUntil: Number.POSITIVE_INFINITY };
  }

  #quotaTotal(q: QuotaState, windowMs: number, now: number): number {
    let total = 0;
    if (windowMs > 0) {
      const w = bucketWidth(windowMs);
      total = q.buckets.total(Math.floor(now / w) * w - windowMs + w);
    }
    return q.leases.addAmounts(total);
  }

  /** What the window will give back, and when: `[msFromNow, amount]` for each bucket and lease. */
  #releases(q: QuotaState, windowMs: number, now: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (windowMs > 0) for (const [b, amount] of q.buckets.entries()) out.push([b + windowMs - now, amount]);
    q.leases.forEach((amount, exp) => {
      out.push([exp - now, amount]);
    });
    return out;
  }

  #maxLeaseLeft(q: QuotaState, now: number): number {
    return Math.max(0, q.leases.latestExpiry() - now);
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#map.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#map.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Writes `key` as the most recently written one; `now` is the calling operation's reading of the clock. */
  #write(key: string, value: Entry['value'], expiresAt: number, now: number): void {
    const map = this.#map;
    const entry = map.get(key);
    if (entry !== undefined) map.delete(key);
    // Nothing left to keep (a released lease, a zero TTL): never let it push a live key out.
    if (expiresAt <= now) return;
    this.#sweep(now);
    if (entry !== undefined) {
      // The same entry object moves to the end of the write order: no new object per write.
      entry.value = value;
      entry.expiresAt = expiresAt;
      map.set(key, entry);
    } else map.set(key, { value, expiresAt });
    if (map.size > this.#maxKeys) this.#evict();
  }

  /** Drops the least recently written keys past capacity. */
  #evict(): void {
    const it = this.#map.keys();
    while (this.#map.size > this.#maxKeys) {
      const next = it.next();
      if (next.done) return;
      this.#map.delete(next.value);
    }
  }

  /**
   * Incremental TTL sweep: each write examines the next few keys of a cursor that walks the whole
   * map and starts over at the end, so every key is visited within a bounded number of writes,
   * whatever its TTL. (Looking only at the least recently written keys stalls as soon as one of
   * them is long-lived, e.g. a monthly spend key, and lets expired keys pile up behind it.)
   */
  #sweep(now: number): void {
    for (let n = 0; n < SWEEP_PER_WRITE; n++) {
      this.#cursor ??= this.#map.entries();
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) this.#map.delete(key);
    }
  }
}

/** Keys the sweep examines per write: more than the one key a write can add, so a pass always ends. */
const SWEEP_PER_WRITE = 4;

/** Milliseconds until everything held or counted in the window has been given back. */
function fullReset(releases: ReadonlyArray<readonly [number, number]>): number {
  let latest = 0;
  for (const [ms] of releases) latest = Math.max(latest, ms);
  return Math.max(0, Math.ceil(latest));
}

/**
 * Milliseconds until at least `need` units have been given back (buckets leave the window, leases
 * expire), so a refused request could pass; when even a full reset does not free enough (the cost
 * alone exceeds the limit), the full reset. Never below 1, so a refusal never says "retry now".
 */
function waitToFree(releases: ReadonlyArray<readonly [number, number]>, need: number): number {
  const sorted = [...releases].sort((a, b) => a[0] - b[0]);
  let freed = 0;
  for (const [ms, amount] of sorted) {
    freed += amount;
    if (freed >= need) return Math.max(1, Math.ceil(ms));
  }
  return Math.max(1, fullReset(sorted));
}
