import type { SettleEntry, StateStore } from '@rel/core';
import type { BudgetLogger } from './pricing';

const MAX_PENDING = 10_000;

/** Settlements the store could not take, kept in process and written before the next store call. */
export class SettlementQueue {
  readonly #store: StateStore;
  readonly #logger: BudgetLogger;
  readonly #pending: Array<{ id: string; entries: SettleEntry[] }> = [];

  constructor(store: StateStore, logger: BudgetLogger) {
    this.#store = store;
    this.#logger = logger;
  }

  get size(): number {
    return this.#pending.length;
  }

  defer(id: string, entries: SettleEntry[]): void {
    if (this.#pending.length >= MAX_PENDING) {
      this.#pending.shift();
      this.#logger.warn('@rel/budget: too many deferred settlements; dropping the oldest');
    }
    if (entries.some((e) => e.amount !== 0)) this.#pending.push({ id, entries });
  }

  async flush(): Promise<void> {
    // Taken off the queue before the await, so two concurrent flushes never write one charge twice.
    for (let next = this.#pending.shift(); next; next = this.#pending.shift()) {
      try {
        await this.#store.settle(next.id, next.entries);
      } catch (error) {
        this.#pending.unshift(next);
        throw error;
      }
    }
  }
}
