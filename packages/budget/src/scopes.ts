import type { Principal } from '@rel/core';
import type { Limits, ParsedBudgetConfig } from './config';

/** The scopes one request is limited in, and the hash tag all their keys share. */
export interface ResolvedScope {
  /**
   * The Redis Cluster hash tag of every key of the request (`org:<id>`, else `user:<id>`, else
   * `anonymous`), so one `acquire` touches one slot. User keys of an org user live under the org's tag.
   */
  readonly tag: string;
  readonly scopes: ReadonlyArray<{ readonly scope: string; readonly limits: Limits }>;
}

const pick = ({ rpm, rpd, tpm, tpd, concurrent, spendPerDayUsd, spendPerMonthUsd }: Limits): Limits =>
  Object.fromEntries(
    Object.entries({ rpm, rpd, tpm, tpd, concurrent, spendPerDayUsd, spendPerMonthUsd }).filter(
      ([, v]) => v !== undefined,
    ),
  );

/**
 * Resolves a principal to its scopes and their effective limits:
 * - with an org: scope `org:<id>` gets its tier (org config `tier`, else `principal.tier`, else
 *   `defaultTier`) overridden by `orgs[id]`; scope `user:<id>` gets the tier's `perUser`, then the
 *   org's `perUser`, then `users[id]`.
 * - a user without an org is its own account: the tier's limits, overridden by `users[id]`.
 * - nobody: scope `anonymous` with the default tier's limits.
 */
export function resolveScopes(config: ParsedBudgetConfig, principal: Principal): ResolvedScope {
  const tierOf = (name: string | undefined) =>
    config.tiers[name ?? config.defaultTier] ?? config.tiers[config.defaultTier];
  const scopes: Array<{ scope: string; limits: Limits }> = [];
  const { orgId, userId } = principal;
  if (orgId !== undefined) {
    const org = config.orgs[orgId];
    const tier = tierOf(org?.tier ?? principal.tier);
    scopes.push({ scope: `org:${orgId}`, limits: { ...pick(tier ?? {}), ...pick(org ?? {}) } });
    if (userId !== undefined) {
      const limits = { ...pick(tier?.perUser ?? {}), ...pick(org?.perUser ?? {}), ...pick(config.users[userId] ?? {}) };
      scopes.push({ scope: `user:${userId}`, limits });
    }
    return { tag: `org:${orgId}`, scopes: scopes.filter((s) => Object.keys(s.limits).length > 0) };
  }
  if (userId !== undefined) {
    const user = config.users[userId];
    const tier = tierOf(user?.tier ?? principal.tier);
    scopes.push({ scope: `user:${userId}`, limits: { ...pick(tier ?? {}), ...pick(user ?? {}) } });
    return { tag: `user:${userId}`, scopes: scopes.filter((s) => Object.keys(s.limits).length > 0) };
  }
  scopes.push({ scope: 'anonymous', limits: pick(tierOf(principal.tier) ?? {}) });
  return { tag: 'anonymous', scopes: scopes.filter((s) => Object.keys(s.limits).length > 0) };
}
