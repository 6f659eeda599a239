import { describe, expect, it } from 'vitest';
import { BudgetConfigSchema } from './config';
import { resolveScopes } from './scopes';

const config = BudgetConfigSchema.parse({
  tiers: {
    free: { rpm: 10, spendPerDayUsd: 1, perUser: { rpm: 2 } },
    pro: { rpm: 100, tpm: 50_000, spendPerMonthUsd: 500, perUser: { rpm: 20 } },
  },
  orgs: { acme: { tier: 'pro', spendPerMonthUsd: 2000, perUser: { concurrent: 3 } } },
  users: { vip: { rpm: 60 }, solo: { tier: 'pro', tpm: 1000 } },
});

describe('resolveScopes', () => {
  it('an org user: the org gets its tier with org overrides; the user its perUser limits and own overrides', () => {
    expect(resolveScopes(config, { orgId: 'acme', userId: 'vip' })).toEqual({
      tag: 'org:acme',
      scopes: [
        { scope: 'org:acme', limits: { rpm: 100, tpm: 50_000, spendPerMonthUsd: 2000 } },
        { scope: 'user:vip', limits: { rpm: 60, concurrent: 3 } },
      ],
    });
  });

  it('an unknown org takes the principal tier, or the default tier', () => {
    expect(resolveScopes(config, { orgId: 'new', tier: 'pro' }).scopes[0]?.limits.rpm).toBe(100);
    expect(resolveScopes(config, { orgId: 'new', tier: 'gold' }).scopes[0]?.limits.rpm).toBe(10);
    expect(resolveScopes(config, { orgId: 'new' }).scopes[0]?.limits).toEqual({ rpm: 10, spendPerDayUsd: 1 });
  });

  it('a user without an org is its own account, tagged by user', () => {
    expect(resolveScopes(config, { userId: 'solo' })).toEqual({
      tag: 'user:solo',
      scopes: [{ scope: 'user:solo', limits: { rpm: 100, tpm: 1000, spendPerMonthUsd: 500 } }],
    });
  });

  it('nobody at all is the anonymous scope on the default tier', () => {
    expect(resolveScopes(config, {}).scopes).toEqual([{ scope: 'anonymous', limits: { rpm: 10, spendPerDayUsd: 1 } }]);
  });
});

describe('BudgetConfigSchema', () => {
  it('names the bad field', () => {
    const bad = [
      [{ tiers: { free: { rpm: -1 } } }, 'tiers.free.rpm'],
      [{ tiers: { free: {} }, orgs: { acme: { tier: 'gold' } } }, 'orgs.acme.tier'],
      [{ tiers: { pro: {} } }, 'defaultTier'],
      [{ failMode: { rpm: 'sometimes' } }, 'failMode'],
      [{ prices: { m: { inputPerMTok: 1 } } }, 'prices.m.outputPerMTok'],
      [{ tiers: { free: { rpn: 3 } } }, 'tiers.free'],
    ] as const;
    for (const [input, path] of bad) {
      const r = BudgetConfigSchema.safeParse(input);
      expect(r.success).toBe(false);
      expect(r.error?.issues.map((i) => i.path.join('.'))).toContain(path);
    }
  });

  it('defaults: alerts at 50/80/100%, block at the ceiling', () => {
    const c = BudgetConfigSchema.parse({});
    expect(c.alerts).toEqual([0.5, 0.8, 1]);
    expect(c.onCeiling).toBe('block');
  });
});
