import type { Clock, RequestContext, StateStore } from '@rel/core';
import type { BudgetLogger } from './pricing';
import { MICROS, type Slot, periodOf } from './slots';

/** An alert: spend in `scope` passed `thresholdPct` of its ceiling for `period`. */
export interface BudgetAlert {
  readonly scope: string;
  readonly period: 'day' | 'month';
  readonly thresholdPct: number;
  readonly spentUsd: number;
  readonly limitUsd: number;
}

/** Alert keys this process remembers having decided, so a hot scope does not ask the store each time. */
const MAX_REMEMBERED = 10_000;

/**
 * Spend alerts, fired once per period per scope per threshold across every instance sharing the
 * store: the first instance to `compareAndSet` the alert's key (with the period as TTL) fires it.
 * Periods are epoch-aligned days and 30-day months.
 */
export class SpendAlerts {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #keyPrefix: string;
  readonly #thresholds: readonly number[];
  readonly #onAlert: ((alert: BudgetAlert) => void) | undefined;
  readonly #logger: BudgetLogger;
  readonly #decided = new Set<string>();

  constructor(options: {
    store: StateStore;
    clock: Clock;
    keyPrefix: string;
    thresholds: readonly number[];
    onAlert: ((alert: BudgetAlert) => void) | undefined;
    logger: BudgetLogger;
  }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#keyPrefix = options.keyPrefix;
    this.#thresholds = [...new Set(options.thresholds)].sort((a, b) => a - b);
    this.#onAlert = options.onAlert;
    this.#logger = options.logger;
  }

  /**
   * Whether `check` with these arguments has any threshold to consider: a settlement below the
   * lowest threshold (the common case) then skips `check` and its promise altogether.
   */
  due(slot: Slot, totalMicros: number, atCeiling: boolean): boolean {
    const lowest = this.#thresholds[0];
    if (lowest === undefined) return false;
    // The negation of `check`'s first `break` (so a NaN total counts as due there too).
    return (atCeiling && lowest <= 1) || !(fractionOf(slot, totalMicros) < lowest);
  }

  /**
   * Fires the thresholds that `totalMicros` (settled + in flight) has reached in `slot`, each once
   * per period; `atCeiling` (a refused reservation) makes every threshold up to 100% due.
   */
  async check(
    slot: Slot,
    totalMicros: number,
    tag: string,
    ctx: RequestContext | undefined,
    atCeiling: boolean,
  ): Promise<void> {
    if (this.#thresholds.length === 0) return;
    const fraction = fractionOf(slot, totalMicros);
    const period = periodOf(slot);
    const index = Math.floor(this.#clock.now() / slot.windowMs);
    for (const threshold of this.#thresholds) {
      if (fraction < threshold && !(atCeiling && threshold <= 1)) break;
      const key = `${this.#keyPrefix}{${tag}}:${slot.scope}:alert:${period}:${index}:${threshold}`;
      if (this.#decided.has(key)) continue;
      let first: boolean;
      try {
        first = await this.#store.compareAndSet(key, undefined, '1', slot.windowMs);
      } catch {
        continue; // an unreachable store: better a late alert than a duplicate
      }
      if (this.#decided.size >= MAX_REMEMBERED) this.#decided.clear();
      this.#decided.add(key);
      if (!first) continue;
      const alert: BudgetAlert = {
        scope: slot.scope,
        period,
        thresholdPct: Math.round(threshold * 100),
        spentUsd: totalMicros / MICROS,
        limitUsd: slot.limit / MICROS,
      };
      ctx?.events?.emit('budget-alert', { ...alert });
      try {
        this.#onAlert?.(alert);
      } catch (error) {
        this.#logger.warn(`@rel/budget: onAlert threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/** The fraction of `slot`'s ceiling that `totalMicros` is (a zero ceiling: infinite once anything is spent). */
function fractionOf(slot: Slot, totalMicros: number): number {
  return slot.limit > 0 ? totalMicros / slot.limit : totalMicros > 0 ? Number.POSITIVE_INFINITY : 0;
}
