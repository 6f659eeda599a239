import { type Clock, RelError, type SettleEntry, type StateStore, newId } from '@rel/core';
import type { BudgetLogger } from './pricing';

/** A settlement (or release) the store could not take, waiting to be written. */
export interface DeferredSettlement {
  /** The lease id. */
  readonly id: string;
  /** The hash tag every entry's key shares, so folded entries still go to one cluster slot. */
  readonly tag: string;
  readonly entries: readonly SettleEntry[];
}

export interface SettlementQueueOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: BudgetLogger;
  /** Most deferred settlements kept one by one; past it the oldest charges are folded per key. Default 10,000. */
  readonly max?: number;
}

/**
 * Settlements the store could not take, kept in process and written before the next store call
 * (or by `flush()`). Bounded: past `max` items the oldest are folded into one sum per key and
 * window (their leases then expire on their own instead of being ended), and past `max` folded
 * keys a charge is dropped with a warning. Releases carry no charge and are dropped first.
 */
export class SettlementQueue {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #logger: BudgetLogger;
  readonly #max: number;
  #items: DeferredSettlement[] = [];
  /** tag -> `key\twindowMs` -> summed entry */
  readonly #folded = new Map<string, Map<string, SettleEntry>>();
  #foldedCount = 0;
  #warnedFold = false;
  #warnedFailure = false;
  #running: Promise<void> | undefined;

  constructor(options: SettlementQueueOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#max = options.max ?? 10_000;
  }

  /** Deferred settlements not yet written (folded keys count one each). */
  get size(): number {
    return this.#items.length + this.#foldedCount;
  }

  /** The micro-units (micro-USD for spend keys) still waiting, by key, for a shutdown report. */
  charges(): Map<string, number> {
    const out = new Map<string, number>();
    const add = (e: SettleEntry) => {
      if (e.amount !== 0) out.set(e.key, (out.get(e.key) ?? 0) + e.amount);
    };
    for (const item of this.#items) for (const e of item.entries) add(e);
    for (const group of this.#folded.values()) for (const e of group.values()) add(e);
    return out;
  }

  defer(item: DeferredSettlement): void {
    if (item.entries.length === 0) return;
    this.#items.push(item);
    while (this.#items.length > this.#max) {
      const oldest = this.#items.shift() as DeferredSettlement;
      if (oldest.entries.some((e) => e.amount !== 0)) this.#fold(oldest);
    }
  }

  /**
   * Writes every deferred settlement, pipelined, in a pass that starts after this call: when a
   * pass begun earlier (during an outage, say) is still running, it waits for that one to end, then
   * joins or starts the next, so its result is about the store as it is now, never a stale failure.
   * Those the store still cannot take stay queued, in order, and the first error is thrown; one the
   * store answers with an error of its own (a `RelError` `internal`, as `RedisStore` gives for a
   * Redis reply error: it will never succeed) is dropped with a warning, so it cannot block every
   * later decision.
   */
  flush(): Promise<void> {
    const running = this.#running;
    if (!running) return this.#start();
    const next = () => this.#running ?? this.#start();
    return running.then(next, next);
  }

  /**
   * Starts writing in the background, joining a pass already running. What the store cannot take
   * stays queued; the first failure of an outage is logged once (with how much is waiting), the
   * next after a pass that wrote everything.
   */
  flushInBackground(): void {
    (this.#running ?? this.#start()).catch((error: unknown) => {
      if (this.#warnedFailure) return;
      this.#warnedFailure = true;
      this.#logger.warn(
        `@rel/budget: ${this.size} deferred settlement(s) could not be written (${message(error)}); they stay queued and are retried before the next store call`,
      );
    });
  }

  #start(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    const pass = this.#drain().finally(() => {
      if (this.#running === pass) this.#running = undefined;
    });
    this.#running = pass;
    return pass;
  }

  async #drain(): Promise<void> {
    while (this.size > 0) {
      const items = this.#items;
      this.#items = [];
      const groups = [...this.#folded];
      this.#folded.clear();
      this.#foldedCount = 0;
      const retry: DeferredSettlement[] = [];
      const jobs = [
        ...items.map((item) => ({
          entries: item.entries,
          // Its first attempt may have been applied (a timed-out command the store still ran):
          // as a retry it is skipped if the store remembers the lease as settled.
          send: () => this.#store.settle(item.id, item.entries, { retry: true }),
          requeue: () => retry.push(item),
        })),
        ...groups.map(([tag, group]) => {
          const entries = [...group.values()];
          return {
            entries,
            send: () => this.#store.settle(newId('deferred'), entries),
            requeue: () => {
              for (const e of entries) this.#foldEntry(tag, e);
            },
          };
        }),
      ];
      const results = await Promise.allSettled(jobs.map((job) => job.send()));
      let firstError: unknown;
      results.forEach((r, i) => {
        const job = jobs[i];
        if (r.status === 'fulfilled' || !job) return;
        if (isRefused(r.reason)) {
          this.#logger.warn(
            `@rel/budget: the store rejected a deferred settlement; dropping it (${describe(job.entries)}): ${message(r.reason)}`,
          );
          return;
        }
        firstError ??= r.reason;
        job.requeue();
      });
      if (retry.length) this.#items.unshift(...retry);
      if (firstError !== undefined) throw firstError;
      if (this.size === 0) {
        this.#warnedFold = false;
        this.#warnedFailure = false;
      }
    }
  }

  #fold(item: DeferredSettlement): void {
    if (!this.#warnedFold) {
      this.#warnedFold = true;
      this.#logger.warn(
        `@rel/budget: more than ${this.#max} deferred settlements; folding the oldest charges per key (their leases expire on their own)`,
      );
    }
    for (const e of item.entries) if (e.amount !== 0) this.#foldEntry(item.tag, e);
  }

  #foldEntry(tag: string, e: SettleEntry): void {
    let group = this.#folded.get(tag);
    const id = `${e.key}\t${e.windowMs}`;
    const prev = group?.get(id);
    if (!prev && this.#foldedCount >= this.#max) {
      this.#logger.warn(`@rel/budget: deferred settlements exceed every bound; dropping a charge (${describe([e])})`);
      return;
    }
    if (!group) {
      group = new Map();
      this.#folded.set(tag, group);
    }
    if (!prev) this.#foldedCount++;
    group.set(id, { key: e.key, windowMs: e.windowMs, amount: (prev?.amount ?? 0) + e.amount });
  }
}

/**
 * An error the store answered with, which retrying the same write cannot help: a `RelError`
 * `internal` (the `StateStore` contract; `RedisStore` maps a Redis reply error to it), or the raw
 * ioredis `ReplyError` of a store that passes client errors through.
 */
function isRefused(error: unknown): boolean {
  if (RelError.is(error)) return error.failure.kind === 'internal';
  return error instanceof Error && error.name === 'ReplyError';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describe(entries: readonly SettleEntry[]): string {
  return entries
    .filter((e) => e.amount !== 0)
    .map((e) => `${e.key} +${e.amount}`)
    .join(', ');
}
