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
  /**
   * orgId -> userId -> tier -> plan, an absent field keyed as `undefined`: three lookups of the
   * principal's own strings, with no key string built per request.
   */
  readonly #plans = new Map<string | undefined, Map<string | undefined, Map<string | undefined, SlotPlan>>>();
  /** `principalKey` -> the principal's fields, oldest inserted first: the eviction order. */
  readonly #order = new Map<string, Principal>();

  constructor(config: ParsedBudgetConfig, max = DEFAULT_PLAN_CACHE_SIZE) {
    this.#config = config;
    this.#max = Math.max(1, max);
  }

  /** Principals whose plan is remembered (at most `max`), for tests and diagnostics. */
  get size(): number {
    return this.#order.size;
  }

  /** The plan of `principal`, resolved on first use. */
  get(principal: Principal): SlotPlan {
    const { orgId, userId, tier } = principal;
    const plan = this.#plans.get(orgId)?.get(userId)?.get(tier);
    return plan === undefined ? this.#add(principal) : plan;
  }

  #add(principal: Principal): SlotPlan {
    const { orgId, userId, tier } = principal;
    const plan = planSlots(this.#config, resolveScopes(this.#config, principal));
    if (this.#order.size >= this.#max) {
      const [key, oldest] = this.#order.entries().next().value as [string, Principal];
      this.#order.delete(key);
      const byUser = this.#plans.get(oldest.orgId);
      const byTier = byUser?.get(oldest.userId);
      byTier?.delete(oldest.tier);
      if (byTier?.size === 0) byUser?.delete(oldest.userId);
      if (byUser?.size === 0) this.#plans.delete(oldest.orgId);
    }
    this.#order.set(principalKey(principal), { orgId, userId, tier });
    let byUser = this.#plans.get(orgId);
    if (!byUser) {
      byUser = new Map();
      this.#plans.set(orgId, byUser);
    }
    let byTier = byUser.get(userId);
    if (!byTier) {
      byTier = new Map();
      byUser.set(userId, byTier);
    }
    byTier.set(tier, plan);
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
