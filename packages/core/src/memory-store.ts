import { type Clock, systemClock } from './clock';
import {
  type AcquireResult,
  type LimitOp,
  type LimitResult,
  type SettleEntry,
  type StateStore,
  bucketWidth,
} from './store';

interface QuotaState {
  /** bucket start -> settled amount */
  buckets: Map<number, number>;
  /** lease id -> [amount, expiresAt] */
  leases: Map<string, [number, number]>;
}
interface Entry {
  value: string | number | QuotaState;
  expiresAt: number;
}

export interface MemoryStoreOptions {
  clock?: Clock;
  /** Most keys kept; past it the least recently written are evicted. Default 1,000,000. */
  maxKeys?: number;
}

/**
 * The in-process `StateStore`: bounded (least recently written keys evicted past `maxKeys`) and
 * with TTL eviction, so a million distinct users do not grow memory for ever.
 * @example const store = new MemoryStore({ maxKeys: 100_000 });
 */
export class MemoryStore implements StateStore {
  readonly name = 'memory';
  readonly #map = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #maxKeys: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxKeys = options.maxKeys ?? 1_000_000;
  }

  /** Number of live keys, for tests and memory benchmarks. */
  get size(): number {
    return this.#map.size;
  }

  async acquire(ops: readonly LimitOp[]): Promise<AcquireResult> {
    const now = this.#clock.now();
    const plans = ops.map((op) => (op.type === 'rate' ? this.#planRate(op, now) : this.#planQuota(op, now)));
    const allowed = plans.every((p) => p.result.allowed);
    if (allowed) for (const p of plans) p.commit();
    return { allowed, results: plans.map((p) => (allowed || !p.result.allowed ? p.result : p.unchanged)) };
  }

  async settle(leaseId: string, entries: readonly SettleEntry[]): Promise<number[]> {
    const now = this.#clock.now();
    return entries.map((e) => {
      const q = this.#quota(e.key, now);
      q.leases.delete(leaseId);
      if (e.amount !== 0 && e.windowMs > 0) {
        const b = Math.floor(now / bucketWidth(e.windowMs)) * bucketWidth(e.windowMs);
        q.buckets.set(b, (q.buckets.get(b) ?? 0) + e.amount);
      }
      this.#write(e.key, q, now + Math.max(e.windowMs, this.#maxLeaseLeft(q, now)));
      return this.#quotaTotal(q, e.windowMs, now);
    });
  }

  async total(key: string, windowMs: number): Promise<number> {
    const now = this.#clock.now();
    return this.#quotaTotal(this.#quota(key, now), windowMs, now);
  }

  async get(key: string): Promise<string | undefined> {
    const v = this.#live(key, this.#clock.now())?.value;
    return v === undefined ? undefined : typeof v === 'object' ? undefined : String(v);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const now = this.#clock.now();
    this.#write(key, value, ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs);
  }

  async compareAndSet(key: string, expected: string | undefined, value: string, ttlMs?: number): Promise<boolean> {
    if ((await this.get(key)) !== expected) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    const next = (typeof entry?.value === 'number' ? entry.value : Number(entry?.value ?? 0)) + by;
    this.#write(key, next, entry ? entry.expiresAt : now + ttlMs);
    return next;
  }

  async delete(key: string): Promise<void> {
    this.#map.delete(key);
  }

  async close(): Promise<void> {
    this.#map.clear();
  }

  #planRate(op: Extract<LimitOp, { type: 'rate' }>, now: number) {
    const interval = op.periodMs / op.limit;
    const burst = op.burst ?? op.limit;
    const tolerance = burst * interval;
    const entry = this.#live(op.key, now);
    const tat = Math.max(typeof entry?.value === 'number' ? entry.value : now, now);
    const newTat = tat + op.cost * interval;
    const allowed = newTat - now <= tolerance;
    const after = allowed ? newTat : tat;
    const result: LimitResult = {
      key: op.key,
      allowed,
      remaining: Math.max(0, Math.floor((tolerance - (after - now)) / interval)),
      resetMs: Math.max(0, Math.ceil(after - now)),
      retryAfterMs: allowed ? 0 : Math.max(0, Math.ceil(newTat - now - tolerance)),
    };
    const unchanged: LimitResult = {
      ...result,
      remaining: Math.max(0, Math.floor((tolerance - (tat - now)) / interval)),
      resetMs: Math.max(0, Math.ceil(tat - now)),
    };
    return { result, unchanged, commit: () => this.#write(op.key, newTat, newTat) };
  }

  #planQuota(op: Extract<LimitOp, { type: 'quota' }>, now: number) {
    const q = this.#quota(op.key, now);
    const used = this.#quotaTotal(q, op.windowMs, now);
    const allowed = used + op.cost <= op.limit;
    const result: LimitResult = {
      key: op.key,
      allowed,
      remaining: Math.max(0, op.limit - used - (allowed ? op.cost : 0)),
      resetMs: this.#oldestExpiry(q, op.windowMs, now),
      retryAfterMs: allowed ? 0 : Math.max(1, this.#oldestExpiry(q, op.windowMs, now)),
    };
    const commit = () => {
      if (op.lease) q.leases.set(op.lease.id, [op.cost, now + op.lease.ttlMs]);
      else if (op.windowMs > 0) {
        const w = bucketWidth(op.windowMs);
        const b = Math.floor(now / w) * w;
        q.buckets.set(b, (q.buckets.get(b) ?? 0) + op.cost);
      }
      this.#write(op.key, q, now + Math.max(op.windowMs, this.#maxLeaseLeft(q, now)));
    };
    const unchanged: LimitResult = { ...result, remaining: Math.max(0, op.limit - used) };
    return { result, unchanged, commit };
  }

  #quota(key: string, now: number): QuotaState {
    const v = this.#live(key, now)?.value;
    if (typeof v === 'object') {
      for (const [id, [, exp]] of v.leases) if (exp <= now) v.leases.delete(id);
      return v;
    }
    return { buckets: new Map(), leases: new Map() };
  }

  #quotaTotal(q: QuotaState, windowMs: number, now: number): number {
    let total = 0;
    if (windowMs > 0) {
      const w = bucketWidth(windowMs);
      const oldest = Math.floor(now / w) * w - windowMs + w;
      for (const [b, amount] of q.buckets) {
        if (b < oldest) q.buckets.delete(b);
        else total += amount;
      }
    }
    for (const [amount] of q.leases.values()) total += amount;
    return total;
  }

  #oldestExpiry(q: QuotaState, windowMs: number, now: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    if (windowMs > 0) for (const b of q.buckets.keys()) soonest = Math.min(soonest, b + windowMs - now);
    for (const [, exp] of q.leases.values()) soonest = Math.min(soonest, exp - now);
    return Number.isFinite(soonest) ? Math.max(0, Math.ceil(soonest)) : 0;
  }

  #maxLeaseLeft(q: QuotaState, now: number): number {
    let max = 0;
    for (const [, exp] of q.leases.values()) max = Math.max(max, exp - now);
    return max;
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#map.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#map.delete(key);
      return undefined;
    }
    return entry;
  }

  #write(key: string, value: Entry['value'], expiresAt: number): void {
    this.#map.delete(key);
    this.#sweep(this.#clock.now());
    this.#map.set(key, { value, expiresAt });
    if (this.#map.size > this.#maxKeys) this.#evict();
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

  /** Incremental TTL sweep: looks at the two least recently written keys on each write. */
  #sweep(now: number): void {
    let n = 0;
    for (const [key, entry] of this.#map) {
      if (++n > 2) return;
      if (entry.expiresAt <= now) this.#map.delete(key);
    }
  }
}
