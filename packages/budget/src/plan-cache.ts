import type { Principal } from '@rel/core';
import type { ParsedBudgetConfig } from './config';
import { resolveScopes } from './scopes';
import { type SlotPlan, planSlots } from './slots';

/** Most principals whose plan is kept by default: ~10k small objects. */
export const DEFAULT_PLAN_CACHE_SIZE = 10_000;

/**
 * The slot plan (`resolveScopes` then `planSlots`) of each principal under one parsed config,
 * remembered: the config never changes after parsing, so a principal's scopes, limits and keys are
 * the same on every request. Keyed by the principal's `orgId`, `userId` and `tier` (all that
 * resolution reads); bounded to `max` principals, the oldest inserted dropped first (a dropped
 * principal is simply resolved again).
 */
export class PlanCache {
  readonly #config: ParsedBudgetConfig;
  readonly #max: number;
  readonly #plans = new Map<string, SlotPlan>();

  constructor(config: ParsedBudgetConfig, max = DEFAULT_PLAN_CACHE_SIZE) {
    this.#config = config;
    this.#max = Math.max(1, max);
  }

  /** Principals whose plan is remembered (at most `max`), for tests and diagnostics. */
  get size(): number {
    return this.#plans.size;
  }

  /** The plan of `principal`, resolved on first use. */
  get(principal: Principal): SlotPlan {
    const key = principalKey(principal);
    let plan = this.#plans.get(key);
    if (plan === undefined) {
      plan = planSlots(this.#config, resolveScopes(this.#config, principal));
      if (this.#plans.size >= this.#max) this.#plans.delete(this.#plans.keys().next().value as string);
      this.#plans.set(key, plan);
    }
    return plan;
  }
}

/**
 * One string per distinct (orgId, userId, tier), absent fields included: each present field is
 * written with its length, so no two principals share a key whatever characters their ids hold.
 */
function principalKey({ orgId, userId, tier }: Principal): string {
  return `${part(orgId)}${part(userId)}${part(tier)}`;
}

function part(value: string | undefined): string {
  return value === undefined ? '-' : `${value.length}:${value}`;
}
