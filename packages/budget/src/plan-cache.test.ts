import type { Principal } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BudgetConfigSchema, type Limits } from './config';
import { PlanCache } from './plan-cache';
import { resolveScopes } from './scopes';
import { buildSlots, slotsOf } from './slots';

/** Ids chosen to collide under a careless key encoding (separators, digits, dashes, empty). */
const ID = fc.constantFrom('a', 'b', 'ab', '1:a', 'a1', '-', '', '2:ab', 'a-b');
const TIER = fc.constantFrom('free', 'pro', 'gold');
const count = fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined });
const usd = fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined });
const limits: fc.Arbitrary<Limits> = fc
  .record({
    rpm: count,
    rpd: count,
    tpm: count,
    tpd: count,
    concurrent: count,
    spendPerDayUsd: usd,
    spendPerMonthUsd: usd,
  })
  .map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)));
const withPerUser = fc
  .tuple(limits, fc.option(limits, { nil: undefined }))
  .map(([l, perUser]) => (perUser ? { ...l, perUser } : l));
const withTier = <T extends object>(a: fc.Arbitrary<T>) =>
  fc
    .tuple(a, fc.option(fc.constantFrom('free', 'pro'), { nil: undefined }))
    .map(([l, tier]) => (tier ? { ...l, tier } : l));

const config = fc
  .record({
    tiers: fc.record({ free: withPerUser, pro: withPerUser }),
    orgs: fc.dictionary(ID, withTier(withPerUser), { maxKeys: 4 }),
    users: fc.dictionary(ID, withTier(limits), { maxKeys: 4 }),
    failMode: fc.constantFrom('open' as const, 'closed' as const, { rpm: 'closed' as const }, {}),
    keyPrefix: fc.constantFrom('budget:', 'x:', ''),
  })
  .map((c) => BudgetConfigSchema.parse(c));

const principal: fc.Arbitrary<Principal> = fc
  .record({
    orgId: fc.option(ID, { nil: undefined }),
    userId: fc.option(ID, { nil: undefined }),
    tier: fc.option(TIER, { nil: undefined }),
  })
  .map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)));

describe('PlanCache', () => {
  it('property: cached plans give the same scopes and slots as resolving every request anew, eviction included', () => {
    fc.assert(
      fc.property(
        config,
        fc.array(principal, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        (c, ps, max) => {
          const cache = new PlanCache(c, max);
          for (const p of ps) {
            const plan = cache.get(p);
            const uncached = resolveScopes(c, p);
            expect(plan.resolved).toEqual(uncached);
            expect(plan.scopes).toEqual(uncached.scopes.map((s) => s.scope));
            expect(slotsOf(plan, 'lease_1', 1234, 5678)).toEqual(buildSlots(c, uncached, 'lease_1', 1234, 5678));
            expect(cache.size).toBeLessThanOrEqual(max);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is bounded: past its size the oldest principal is dropped and resolved again alike', () => {
    const c = BudgetConfigSchema.parse({ tiers: { free: { rpm: 5, perUser: { tpm: 100 } } } });
    const cache = new PlanCache(c, 3);
    const first = cache.get({ orgId: 'o0', userId: 'u' });
    for (let i = 1; i < 100; i++) cache.get({ orgId: `o${i}`, userId: 'u' });
    expect(cache.size).toBe(3);
    const again = cache.get({ orgId: 'o0', userId: 'u' });
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(cache.size).toBe(3);
  });

  it('one plan per principal: a repeated principal is resolved once; ids that concatenate alike stay apart', () => {
    const c = BudgetConfigSchema.parse({
      tiers: { free: { rpm: 5 }, pro: { rpm: 50, perUser: { rpm: 7 } } },
      orgs: { ab: { tier: 'pro' } },
    });
    const cache = new PlanCache(c);
    expect(cache.get({ orgId: 'a', userId: 'b' })).toBe(cache.get({ orgId: 'a', userId: 'b' }));
    expect(cache.get({ orgId: 'ab' }).resolved).toEqual(resolveScopes(c, { orgId: 'ab' }));
    expect(cache.get({ orgId: 'a', userId: 'b' }).resolved.tag).toBe('org:a');
    expect(cache.get({ orgId: 'a', tier: 'pro' }).resolved).toEqual(resolveScopes(c, { orgId: 'a', tier: 'pro' }));
    expect(cache.get({ userId: 'a', tier: 'pro' }).resolved).toEqual(resolveScopes(c, { userId: 'a', tier: 'pro' }));
    expect(cache.size).toBe(4);
  });

  it('slots of one plan carry each request its own lease and costs; rate ops are the same every time', () => {
    const c = BudgetConfigSchema.parse({ tiers: { free: { rpm: 5, tpm: 1000, concurrent: 2, spendPerDayUsd: 1 } } });
    const plan = new PlanCache(c).get({ userId: 'u' });
    const a = slotsOf(plan, 'lease_a', 10, 20);
    const b = slotsOf(plan, 'lease_b', 30, 40);
    expect(a.map((s) => [s.name, s.op.cost])).toEqual([
      ['rpm', 1],
      ['concurrent', 1],
      ['tpm', 10],
      ['spendPerDayUsd', 20],
    ]);
    expect(b.map((s) => s.op.cost)).toEqual([1, 1, 30, 40]);
    expect(b.map((s) => (s.op.type === 'quota' ? s.op.lease?.id : undefined))).toEqual([
      undefined,
      'lease_b',
      'lease_b',
      'lease_b',
    ]);
    expect(a[0]).toBe(b[0]);
  });
});
