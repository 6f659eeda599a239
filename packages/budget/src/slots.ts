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
 * (`slotsOf(planSlots(...))` in two steps, for callers that resolve once and build per request.)
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
  return slotsOf(planSlots(config, resolved), leaseId, tokens, micros);
}

/**
 * What `buildSlots` derives from the config and the resolved scopes alone, computed once per
 * principal: keys, limits, fail modes, and the rate slots whole (their op never changes).
 */
export interface SlotPlan {
  readonly resolved: ResolvedScope;
  /** The scope names, in order (a reservation's `scopes`). */
  readonly scopes: readonly string[];
  readonly templates: readonly SlotTemplate[];
  /** `config.leaseMs`. */
  readonly leaseMs: number;
  /** How many of the slots are settled (the quota slots): the length of a settlement's entries. */
  readonly settled: number;
}

/** One slot of a plan: a rate slot as it is sent every time, or a quota slot without its per-request cost and lease. */
export type SlotTemplate =
  | { readonly kind: 'rate'; readonly slot: Slot }
  | {
      readonly kind: 'quota';
      readonly name: LimitName;
      readonly scope: string;
      readonly key: string;
      readonly limit: number;
      readonly failMode: FailMode;
      readonly windowMs: number;
      readonly settle: NonNullable<Slot['settle']>;
    };

/** The plan of `resolved`'s slots under `config`; see `SlotPlan`. */
export function planSlots(config: ParsedBudgetConfig, resolved: ResolvedScope): SlotPlan {
  const templates: SlotTemplate[] = [];
  const tagged = `${config.keyPrefix}{${resolved.tag}}:`;
  const rate = (scope: string, prefix: string, name: LimitName, limit: number, periodMs: number) => {
    const key = prefix + name;
    const op: LimitOp = { type: 'rate', key, limit, periodMs, cost: 1 };
    const slot: Slot = { name, scope, key, limit, failMode: failModeOf(config, name), op, windowMs: periodMs };
    templates.push({ kind: 'rate', slot });
  };
  const quota = (
    scope: string,
    prefix: string,
    name: LimitName,
    limit: number,
    windowMs: number,
    settle: NonNullable<Slot['settle']>,
  ) => {
    const failMode = failModeOf(config, name);
    templates.push({ kind: 'quota', name, scope, key: prefix + name, limit, failMode, windowMs, settle });
  };
  for (const { scope, limits } of resolved.scopes) {
    const prefix = `${tagged}${scope}:`;
    if (limits.rpm !== undefined) rate(scope, prefix, 'rpm', limits.rpm, MINUTE);
    if (limits.rpd !== undefined) rate(scope, prefix, 'rpd', limits.rpd, DAY);
    if (limits.concurrent !== undefined) quota(scope, prefix, 'concurrent', limits.concurrent, 0, 'lease');
    if (limits.tpm !== undefined) quota(scope, prefix, 'tpm', limits.tpm, MINUTE, 'tokens');
    if (limits.tpd !== undefined) quota(scope, prefix, 'tpd', limits.tpd, DAY, 'tokens');
    if (limits.spendPerDayUsd !== undefined) {
      quota(scope, prefix, 'spendPerDayUsd', Math.round(limits.spendPerDayUsd * MICROS), DAY, 'spend');
    }
    if (limits.spendPerMonthUsd !== undefined) {
      quota(scope, prefix, 'spendPerMonthUsd', Math.round(limits.spendPerMonthUsd * MICROS), MONTH, 'spend');
    }
  }
  const settled = templates.filter((t) => t.kind === 'quota').length;
  // Frozen: every reservation of this plan shares the one array as its `scopes`.
  const scopes = Object.freeze(resolved.scopes.map((s) => s.scope));
  return { resolved, scopes, templates, leaseMs: config.leaseMs, settled };
}

/**
 * The slots of one request from its plan: rate slots as planned, quota slots with this request's
 * cost (1 for concurrency, `tokens`, or `micros`) held under one lease `leaseId`.
 */
export function slotsOf(plan: SlotPlan, leaseId: string, tokens: number, micros: number): Slot[] {
  const { templates } = plan;
  const slots: Slot[] = new Array(templates.length);
  // Built on every request: one loop, no closures; the lease is shared by every quota op.
  let lease: { readonly id: string; readonly ttlMs: number } | undefined;
  for (let i = 0; i < templates.length; i++) {
    const t = templates[i] as SlotTemplate;
    if (t.kind === 'rate') {
      slots[i] = t.slot;
      continue;
    }
    lease ??= { id: leaseId, ttlMs: plan.leaseMs };
    const { name, scope, key, limit, failMode, windowMs, settle } = t;
    const cost = settle === 'tokens' ? tokens : settle === 'spend' ? micros : 1;
    const op: LimitOp = { type: 'quota', key, limit, windowMs, cost, lease };
    slots[i] = { name, scope, key, limit, failMode, op, windowMs, settle };
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
  for (let i = 0; i < slots.length; i++) {
    if ((slots[i] as Slot).settle !== 'spend') continue;
    const left = (results[i]?.remaining ?? 0) / MICROS;
    min = min === undefined ? left : Math.min(min, left);
  }
  return min;
}
