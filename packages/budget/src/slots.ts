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
  // Built on every request: plain pushes, no closures per scope.
  const tagged = `${config.keyPrefix}{${resolved.tag}}:`;
  for (const { scope, limits } of resolved.scopes) {
    const prefix = `${tagged}${scope}:`;
    if (limits.rpm !== undefined) slots.push(rateSlot(config, scope, prefix, 'rpm', limits.rpm, MINUTE));
    if (limits.rpd !== undefined) slots.push(rateSlot(config, scope, prefix, 'rpd', limits.rpd, DAY));
    if (limits.concurrent !== undefined)
      slots.push(quotaSlot(config, scope, prefix, 'concurrent', limits.concurrent, 0, 1, lease, 'lease'));
    if (limits.tpm !== undefined)
      slots.push(quotaSlot(config, scope, prefix, 'tpm', limits.tpm, MINUTE, tokens, lease, 'tokens'));
    if (limits.tpd !== undefined)
      slots.push(quotaSlot(config, scope, prefix, 'tpd', limits.tpd, DAY, tokens, lease, 'tokens'));
    if (limits.spendPerDayUsd !== undefined) {
      const limit = Math.round(limits.spendPerDayUsd * MICROS);
      slots.push(quotaSlot(config, scope, prefix, 'spendPerDayUsd', limit, DAY, micros, lease, 'spend'));
    }
    if (limits.spendPerMonthUsd !== undefined) {
      const limit = Math.round(limits.spendPerMonthUsd * MICROS);
      slots.push(quotaSlot(config, scope, prefix, 'spendPerMonthUsd', limit, MONTH, micros, lease, 'spend'));
    }
  }
  return slots;
}

function rateSlot(
  config: ParsedBudgetConfig,
  scope: string,
  prefix: string,
  name: LimitName,
  limit: number,
  periodMs: number,
): Slot {
  const key = prefix + name;
  const op: LimitOp = { type: 'rate', key, limit, periodMs, cost: 1 };
  return { name, scope, key, limit, failMode: failModeOf(config, name), op, windowMs: periodMs };
}

function quotaSlot(
  config: ParsedBudgetConfig,
  scope: string,
  prefix: string,
  name: LimitName,
  limit: number,
  windowMs: number,
  cost: number,
  lease: { readonly id: string; readonly ttlMs: number },
  settle: NonNullable<Slot['settle']>,
): Slot {
  const key = prefix + name;
  const op: LimitOp = { type: 'quota', key, limit, windowMs, cost, lease };
  return { name, scope, key, limit, failMode: failModeOf(config, name), op, windowMs, settle };
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
