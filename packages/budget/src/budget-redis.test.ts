import { EventHub, RelError, RequestContext, seededRandom } from '@rel/core';
import { RedisStore } from '@rel/redis';
import { type RedisServerHandle, startRedisServer } from '@rel/redis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answering, request } from '../test/helpers';
import { monitorScripts } from '../test/redis-monitor';
import { budget } from './budget-middleware';
import { type BudgetAlert, BudgetPolicy, type Reservation } from './budget-policy';

const prices = { 'test-model': { inputPerMTok: 100, outputPerMTok: 200 } };
let server: RedisServerHandle;
let n = 0;
const ORG_KEY = 'budget:{org:acme}:org:acme:spendPerDayUsd';
const USAGE = { inputTokens: 20, outputTokens: 10 }; // $0.002 + $0.002 at the test prices
const USAGE_MICROS = 4000;
/** Resolves with the outcome, or with 'hung' when it takes more than 10 command timeouts of 200 ms. */
const noHang = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 2000))]);
const userKey = (user: string) => `budget:{org:acme}:user:${user}:spendPerDayUsd`;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('budget on a shared Redis', () => {
  it('200 calls from 40 clients on two instances: every decision is exact in Redis order, spend passes a ceiling by no more than the excess of the leases in flight at its last admission, and no settled charge is lost', async () => {
    const keyPrefix = `c${++n}:`;
    // Not a timeout test: a generous command timeout keeps a busy CI machine from failing calls closed.
    const stores = [0, 1].map(() => new RedisStore({ url: server.url, keyPrefix, commandTimeoutMs: 5000 }));
    const monitor = await monitorScripts(stores[0] as RedisStore, keyPrefix);
    const policies = stores.map(
      (store) =>
        new BudgetPolicy({
          store,
          prices,
          alerts: [],
          tiers: { free: { spendPerDayUsd: 1, perUser: { spendPerDayUsd: 0.3 } } },
          logger: { warn: () => {} },
        }),
    );
    const random = seededRandom(7);
    const admitted = new Set<string>();
    const charged = new Map<string, number>(); // lease id -> micro-USD charged at settlement
    const chargedByKey = new Map<string, number>();
    let refused = 0;
    const call = async (i: number) => {
      const policy = policies[i % 2] as BudgetPolicy;
      const user = `u${i % 7}`;
      const ctx = new RequestContext({ principal: { orgId: 'acme', userId: user } });
      let r: Reservation;
      try {
        r = await policy.reserve(request('test-model', 100, 20), ctx);
      } catch (error) {
        expect(RelError.is(error) && error.failure.kind).toBe('budget_exceeded');
        refused++;
        return;
      }
      admitted.add(r.id);
      await new Promise((resolve) => setTimeout(resolve, random() * 10));
      if (random() < 0.1) {
        await policy.release(r);
        return;
      }
      // A tenth of the calls use more input than estimated: the only way past a ceiling.
      const usage = {
        inputTokens: Math.round(r.estimate.inputTokens * (random() < 0.1 ? 3 : 0.9)),
        outputTokens: Math.floor(random() * 100),
      };
      const micros = Math.round((await policy.settle(r, usage)).chargedUsd * 1e6);
      charged.set(r.id, micros);
      for (const key of [ORG_KEY, userKey(user)]) chargedByKey.set(key, (chargedByKey.get(key) ?? 0) + micros);
    };
    await Promise.all(
      Array.from({ length: 40 }, async (_, client) => {
        for (let k = 0; k < 5; k++) await call(client * 5 + k);
      }),
    );
    await monitor.drain();
    monitor.stop();

    // Replay what Redis ran, in its order, against a model of settled sums and live leases.
    const settled = new Map<string, number>();
    const leases = new Map<string, Map<string, number>>();
    const live = (key: string) => leases.get(key) ?? leases.set(key, new Map()).get(key) ?? new Map<string, number>();
    const total = (key: string) => (settled.get(key) ?? 0) + [...live(key).values()].reduce((a, b) => a + b, 0);
    const limits = new Map<string, number>();
    const lastAdmission = new Map<string, { inFlight: Map<string, number>; totalAfter: number }>();
    let acquires = 0;
    for (const run of monitor.runs) {
      if (run.type === 'acquire') {
        acquires++;
        const fits = run.ops.every((op) => total(op.key) + op.cost <= op.limit);
        expect(admitted.has(run.ops[0]?.leaseId ?? '')).toBe(fits);
        if (!fits) continue;
        for (const op of run.ops) {
          limits.set(op.key, op.limit);
          live(op.key).set(op.leaseId, op.cost);
          lastAdmission.set(op.key, { inFlight: new Map(live(op.key)), totalAfter: total(op.key) });
        }
      } else {
        expect(run.retry).toBe(false);
        for (const e of run.entries) {
          live(e.key).delete(run.leaseId);
          settled.set(e.key, (settled.get(e.key) ?? 0) + e.amount);
        }
      }
    }
    expect(acquires).toBe(admitted.size + refused);
    expect(refused).toBeGreaterThan(0);
    expect(lastAdmission.size).toBeGreaterThan(2); // the org and several users were admitted

    for (const [key, { inFlight, totalAfter }] of lastAdmission) {
      const limit = limits.get(key) as number;
      const final = await (stores[0] as RedisStore).total(key, 86_400_000);
      // No settled charge lost (nor counted twice): Redis holds exactly what the callers were charged.
      expect(final).toBe(chargedByKey.get(key) ?? 0);
      expect(final).toBe(total(key));
      // The stated bound, from the leases actually in flight when the key last admitted a call.
      expect(totalAfter).toBeLessThanOrEqual(limit);
      let excess = 0;
      for (const [id, reserved] of inFlight) excess += Math.max(0, (charged.get(id) ?? 0) - reserved);
      expect(final).toBeLessThanOrEqual(limit + excess);
    }
    expect((await (stores[0] as RedisStore).total(ORG_KEY, 86_400_000)) / 1e6).toBeGreaterThan(0.9);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('a Redis killed mid-run: fail-open admits, fail-closed refuses, neither hangs; restarted on the same port, decisions recover and the deferred charges land exactly once', async () => {
    const own = await startRedisServer();
    const store = new RedisStore({ url: own.url, keyPrefix: `d${++n}:`, commandTimeoutMs: 200 });
    const errors: string[] = [];
    const make = (failMode: 'open' | 'closed') =>
      new BudgetPolicy({
        store,
        prices,
        failMode,
        alerts: [],
        tiers: { free: { rpm: 100, spendPerDayUsd: 5 } },
        onStoreError: (_e, decision) => errors.push(decision),
        logger: { warn: () => {} },
      });
    const [openPolicy, closedPolicy] = [make('open'), make('closed')];
    const open = budget(openPolicy)(answering(USAGE));
    const closed = budget(closedPolicy)(answering(USAGE));
    const ctx = () => new RequestContext({ principal: { orgId: 'acme' } });
    await open(request(), ctx());
    const inFlight = await closedPolicy.reserve(request(), ctx());
    await own.kill();

    const c1 = ctx();
    await expect(noHang(open(request(), c1))).resolves.toMatchObject({ type: 'completion' });
    expect(c1.getAttribute('rel.budget.decision')).toBe('fail_open');
    const c2 = ctx();
    const err = await noHang(closed(request(), c2).catch((e: unknown) => e));
    expect(RelError.is(err) && err.failure.kind).toBe('dependency_unavailable');
    expect(String((err as Error).message)).toMatch(/fail-closed: rpm, spendPerDayUsd/);
    expect(c2.getAttribute('rel.budget.decision')).toBe('fail_closed');
    await closedPolicy.settle(inFlight, USAGE); // the call in flight when Redis died still ends
    expect(errors).toEqual(expect.arrayContaining(['fail_open', 'fail_closed', 'settle_deferred']));
    expect(openPolicy.pendingSettlements).toBe(1);
    await expect(closedPolicy.flush()).rejects.toThrow();

    // The same port, an empty Redis (no persistence): the store reconnects on its own.
    const again = await startRedisServer({ port: own.port });
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = await closed(request(), ctx()).then(
        () => true,
        () => false,
      );
      if (!recovered) await new Promise((r) => setTimeout(r, 50));
    }
    expect(recovered).toBe(true);
    await openPolicy.flush();
    await closedPolicy.flush();
    expect(openPolicy.pendingSettlements + closedPolicy.pendingSettlements).toBe(0);
    // On the new server: the charge settled during the outage, the fail-open call's, and the call
    // that recovered, each once (what the dead server held is gone with it).
    expect(await store.total(ORG_KEY, 86_400_000)).toBe(3 * USAGE_MICROS);
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(0);
    await store.close();
    await again.stop();
  });

  it('a stalled Redis (SIGSTOP): decisions fail open or closed within the command timeout, and once it wakes no lease is stuck and no charge counted twice', async () => {
    const own = await startRedisServer();
    const store = new RedisStore({ url: own.url, keyPrefix: `s${++n}:`, commandTimeoutMs: 200 });
    const policy = new BudgetPolicy({
      store,
      prices,
      alerts: [],
      tiers: { free: { concurrent: 2, spendPerDayUsd: 5 } },
      logger: { warn: () => {} },
    });
    const ratesOnly = new BudgetPolicy({ store, prices, tiers: { free: { concurrent: 2 } } });
    const ctx = () => new RequestContext({ principal: { orgId: 'acme' } });
    const inFlight = await policy.reserve(request(), ctx());
    let failOpen: Reservation | undefined;
    process.kill(own.pid, 'SIGSTOP');
    try {
      // Redis holds these commands unanswered and runs every one of them when it wakes.
      await policy.settle(inFlight, USAGE); // times out: deferred, yet Redis will apply it
      const refused = await noHang(policy.reserve(request(), ctx()).catch((e: unknown) => e));
      expect(RelError.is(refused) && refused.failure.kind).toBe('dependency_unavailable');
      const admitted = await noHang(ratesOnly.reserve(request(), ctx()));
      expect(admitted).toMatchObject({ decision: 'fail_open' });
      expect(policy.pendingSettlements).toBe(2); // the settlement, and the refused call's release
      failOpen = admitted === 'hung' ? undefined : admitted;
    } finally {
      process.kill(own.pid, 'SIGCONT');
    }
    // The fail-open call ran; its acquire, run late, granted it a lease it now ends.
    if (failOpen) await ratesOnly.release(failOpen);
    for (let i = 0; i < 100 && policy.pendingSettlements > 0; i++) {
      await policy.flush().catch(() => new Promise((r) => setTimeout(r, 20)));
    }
    expect(policy.pendingSettlements).toBe(0);
    expect(await store.total(ORG_KEY, 86_400_000)).toBe(USAGE_MICROS);
    // The refused call's acquire ran late and took a lease too; its queued release ended it.
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(0);
    await expect(policy.reserve(request(), ctx())).resolves.toMatchObject({ decision: 'allowed' });
    await store.close();
    await own.stop();
  });

  it('alerts fire once per threshold per period across two instances on two RedisStores, even when calls race', async () => {
    const keyPrefix = `a${++n}:`;
    const stores = [0, 1].map(() => new RedisStore({ url: server.url, keyPrefix, commandTimeoutMs: 5000 }));
    const alerts: BudgetAlert[] = [];
    const events = new EventHub();
    const evented: unknown[] = [];
    events.on('budget-alert', (e) => evented.push(e));
    const handlers = stores.map((store) =>
      budget(
        new BudgetPolicy({
          store,
          prices,
          tiers: { free: { spendPerDayUsd: 0.05 } },
          onAlert: (a) => alerts.push(a),
          logger: { warn: () => {} },
        }),
      )(answering(USAGE)),
    );
    const ctx = () => new RequestContext({ principal: { orgId: 'acme' }, events });
    // 16 calls race on both instances; each charges $0.004 against a $0.05 ceiling.
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (handlers[i % 2] as (typeof handlers)[number])(request(), ctx()).catch(() => {}),
      ),
    );
    const counts = new Map<number, number>();
    for (const a of alerts) counts.set(a.thresholdPct, (counts.get(a.thresholdPct) ?? 0) + 1);
    expect([...counts.keys()].sort((x, y) => x - y)).toEqual([50, 80, 100]);
    expect([...counts.values()]).toEqual([1, 1, 1]);
    expect(evented).toHaveLength(3);
    expect(alerts.every((a) => a.scope === 'org:acme' && a.period === 'day' && a.limitUsd === 0.05)).toBe(true);
    await Promise.all(stores.map((s) => s.close()));
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

  it('a settlement Redis refuses (the spend key holds a list: WRONGTYPE) is deferred once, then dropped with a warning, not retried for ever', async () => {
    const keyPrefix = `w${++n}:`;
    const store = new RedisStore({ url: server.url, keyPrefix });
    const warnings: string[] = [];
    const policy = new BudgetPolicy({
      store,
      prices,
      alerts: [],
      tiers: { free: { spendPerDayUsd: 5 } },
      logger: { warn: (m) => warnings.push(m) },
    });
    const ctx = new RequestContext({ principal: { orgId: 'acme' } });
    const lease = await policy.reserve(request(), ctx);
    const raw = store.client as unknown as {
      del(key: string): Promise<number>;
      lpush(key: string, value: string): Promise<number>;
      lrange(key: string, from: number, to: number): Promise<string[]>;
    };
    await raw.del(`${keyPrefix}${ORG_KEY}`);
    await raw.lpush(`${keyPrefix}${ORG_KEY}`, 'not a quota');
    await policy.settle(lease, USAGE);
    expect(policy.pendingSettlements).toBe(1);
    await policy.flush();
    expect(policy.pendingSettlements).toBe(0);
    expect(warnings.some((w) => w.includes('rejected a deferred settlement') && w.includes('WRONGTYPE'))).toBe(true);
    expect(await raw.lrange(`${keyPrefix}${ORG_KEY}`, 0, -1)).toEqual(['not a quota']);
    await store.close();
  });
});
