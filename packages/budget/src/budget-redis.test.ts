import { RelError, RequestContext, seededRandom } from '@rel/core';
import { RedisStore } from '@rel/redis';
import { type RedisServerHandle, startRedisServer } from '@rel/redis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answering, request } from '../test/helpers';
import { budget } from './budget-middleware';
import { BudgetPolicy } from './budget-policy';

const prices = { 'test-model': { inputPerMTok: 100, outputPerMTok: 200 } };
let server: RedisServerHandle;
let n = 0;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('budget on a shared Redis', () => {
  it('200 concurrent calls from two instances never pass the $1 ceiling beyond the in-flight bound, and lose no charge', async () => {
    const keyPrefix = `c${++n}:`;
    const stores = [new RedisStore({ url: server.url, keyPrefix }), new RedisStore({ url: server.url, keyPrefix })];
    const policies = stores.map(
      (store) =>
        new BudgetPolicy({ store, prices, tiers: { free: { spendPerDayUsd: 1 } }, logger: { warn: () => {} } }),
    );
    const random = seededRandom(7);
    let charged = 0; // micro-USD, as recorded by the callers
    let overshootBound = 0; // sum over admitted calls of max(0, actual - reserved)
    let admitted = 0;
    let refused = 0;
    // 40 clients, 5 calls each, in flight at once across both instances.
    const call = async (i: number) => {
      const policy = policies[i % 2] as BudgetPolicy;
      const ctx = new RequestContext({ principal: { orgId: 'acme', userId: `u${i % 7}` } });
      const req = request('test-model', 100, 20);
      let r: Awaited<ReturnType<BudgetPolicy['reserve']>>;
      try {
        r = await policy.reserve(req, ctx);
      } catch (error) {
        expect(RelError.is(error) && error.failure.kind).toBe('budget_exceeded');
        refused++;
        return;
      }
      admitted++;
      await new Promise((resolve) => setTimeout(resolve, random() * 10));
      // A tenth of the calls report more input than estimated: the only way to overshoot.
      const usage = {
        inputTokens: Math.round(r.estimate.inputTokens * (random() < 0.1 ? 3 : 0.9)),
        outputTokens: Math.floor(random() * 100),
      };
      if (random() < 0.1) {
        await policy.release(r);
        return;
      }
      const s = await policy.settle(r, usage);
      charged += Math.round(s.chargedUsd * 1e6);
      overshootBound += Math.max(0, s.chargedUsd - r.estimate.costUsd);
    };
    await Promise.all(
      Array.from({ length: 40 }, async (_, client) => {
        for (let k = 0; k < 5; k++) await call(client * 5 + k);
      }),
    );
    const total = await stores[0]?.total('budget:{org:acme}:org:acme:spendPerDayUsd', 86_400_000);
    expect(admitted).toBeGreaterThan(40);
    expect((total ?? 0) / 1e6).toBeGreaterThan(0.9);
    expect(refused).toBeGreaterThan(0);
    expect(total).toBe(charged);
    expect((total ?? 0) / 1e6).toBeLessThanOrEqual(1 + overshootBound + 1e-9);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('a Redis that dies mid-run: fail-open limits admit, fail-closed limits refuse, neither hangs', async () => {
    const own = await startRedisServer();
    const store = new RedisStore({ url: own.url, keyPrefix: `d${++n}:`, commandTimeoutMs: 200 });
    const errors: string[] = [];
    const make = (failMode: 'open' | 'closed') =>
      budget(
        new BudgetPolicy({
          store,
          prices,
          failMode,
          tiers: { free: { rpm: 100, spendPerDayUsd: 5 } },
          onStoreError: (_e, decision) => errors.push(decision),
        }),
      );
    const open = make('open')(answering({ inputTokens: 10, outputTokens: 10 }));
    const closed = make('closed')(answering({ inputTokens: 10, outputTokens: 10 }));
    const ctx = () => new RequestContext({ principal: { orgId: 'acme' } });
    await open(request(), ctx());
    await closed(request(), ctx());
    await own.kill();
    const guard = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000))]);
    const c1 = ctx();
    await expect(guard(open(request(), c1))).resolves.toMatchObject({ type: 'completion' });
    expect(c1.getAttribute('rel.budget.decision')).toBe('fail_open');
    const c2 = ctx();
    const err = await guard(closed(request(), c2).catch((e: unknown) => e));
    expect(RelError.is(err) && err.failure.kind).toBe('dependency_unavailable');
    expect(String((err as Error).message)).toMatch(/fail-closed/);
    expect(c2.getAttribute('rel.budget.decision')).toBe('fail_closed');
    expect(errors).toContain('fail_open');
    expect(errors).toContain('fail_closed');
    expect(errors).toContain('settle_deferred');
    await store.close();
  });

  it('the default fail modes: rates fail open, spend fails closed', async () => {
    const own = await startRedisServer();
    const store = new RedisStore({ url: own.url, keyPrefix: `e${++n}:`, commandTimeoutMs: 200 });
    await own.kill();
    const ctx = () => new RequestContext({ principal: { orgId: 'acme' } });
    const rateOnly = new BudgetPolicy({ store, prices, tiers: { free: { rpm: 5, tpm: 1000, concurrent: 2 } } });
    await expect(rateOnly.reserve(request(), ctx())).resolves.toMatchObject({ decision: 'fail_open' });
    const withSpend = new BudgetPolicy({ store, prices, tiers: { free: { rpm: 5, spendPerMonthUsd: 10 } } });
    await expect(withSpend.reserve(request(), ctx())).rejects.toMatchObject({
      failure: { kind: 'dependency_unavailable' },
    });
    await store.close();
  });
});
