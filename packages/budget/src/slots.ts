import type { LimitOp, LimitResult } from '@rel/core';
import { type FailMode, type LimitName, type ParsedBudgetConfig, failModeOf } from './config';
import type { ResolvedScope } from './scopes';

export const MINUTE = 60_000;
export const DAY = 86_400_000;
export const MONTH = 30 * DAY;
/** Spend is counted in integer micro-USD so that sums are exact in every store. */
export const MICROS = 1_000_000;

/** One limit of one scope, as the store sees it: its key, its op, and how it is settled. */
export interface Slot {
  readonly name: LimitName;
  readonly scope: string;
  readonly key: string;
  readonly limit: number;
  readonly failMode: FailMode;
  readonly op: LimitOp;
  /** How this slot is settled: by actual tokens, actual micro-USD, or just ending the lease. */
  readonly settle?: 'tokens' | 'spend' | 'lease';
  readonly windowMs: number;
}

/**
 * The slots of one request: every configured limit of every scope, keyed under the request's hash
 * tag. Rates are charged at admission; tokens, concurrency and spend are held under `leaseId`.
 * @param tokens the tokens to reserve (input estimate + output allowance)
 * @param micros the cost to reserve, in micro-USD
 */
export function buildSlots(
  config: ParsedBudgetConfig,
  resolved: ResolvedScope,
  leaseId: string,
  tokens: number,
  micros: number,
): Slot[] {
  const lease = { id: leaseId, ttlMs: config.leaseMs };
  const slots: Slot[] = [];
  for (const { scope, limits } of resolved.scopes) {
    const key = (name: string) => `${config.keyPrefix}{${resolved.tag}}:${scope}:${name}`;
    const add = (
      name: LimitName,
      limit: number,
      windowMs: number,
      make: (k: string) => LimitOp,
      settle?: Slot['settle'],
    ) => {
      const k = key(name);
      slots.push({
        name,
        scope,
        key: k,
        limit,
        failMode: failModeOf(config, name),
        op: make(k),
        windowMs,
        ...(settle ? { settle } : {}),
      });
    };
    const rate =
      (limit: number, periodMs: number) =>
      (k: string): LimitOp => ({ type: 'rate', key: k, limit, periodMs, cost: 1 });
    const quota =
      (limit: number, windowMs: number, cost: number) =>
      (k: string): LimitOp => ({ type: 'quota', key: k, limit, windowMs, cost, lease });
    if (limits.rpm !== undefined) add('rpm', limits.rpm, MINUTE, rate(limits.rpm, MINUTE));
    if (limits.rpd !== undefined) add('rpd', limits.rpd, DAY, rate(limits.rpd, DAY));
    if (limits.concurrent !== undefined)
      add('concurrent', limits.concurrent, 0, quota(limits.concurrent, 0, 1), 'lease');
    if (limits.tpm !== undefined) add('tpm', limits.tpm, MINUTE, quota(limits.tpm, MINUTE, tokens), 'tokens');
    if (limits.tpd !== undefined) add('tpd', limits.tpd, DAY, quota(limits.tpd, DAY, tokens), 'tokens');
    for (const [name, usd, windowMs] of [
      ['spendPerDayUsd', limits.spendPerDayUsd, DAY],
      ['spendPerMonthUsd', limits.spendPerMonthUsd, MONTH],
    ] as const) {
      if (usd === undefined) continue;
      const limit = Math.round(usd * MICROS);
      add(name, limit, windowMs, quota(limit, windowMs, micros), 'spend');
    }
  }
  return slots;
}

/** The alert and error period of a spend slot. */
export function periodOf(slot: Slot): 'day' | 'month' {
  return slot.name === 'spendPerDayUsd' ? 'day' : 'month';
}

/** USD left under the tightest spend ceiling among `slots`, given the store's results for them. */
export function remainingUsd(slots: readonly Slot[], results: readonly LimitResult[]): number | undefined {
  let min: number | undefined;
  slots.forEach((s, i) => {
    if (s.settle !== 'spend') return;
    const left = (results[i]?.remaining ?? 0) / MICROS;
    min = min === undefined ? left : Math.min(min, left);
  });
  return min;
}
