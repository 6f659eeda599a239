import { MemoryStore, RelError, RequestContext } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { FaultyStore, request } from '../test/helpers';
import { BudgetPolicy } from './budget-policy';
import { SettlementQueue } from './settlement-queue';

const prices = { 'test-model': { inputPerMTok: 1000, outputPerMTok: 2000 } };
const usage = { inputTokens: 40, outputTokens: 50 }; // $0.14
const DAY = 86_400_000;
const SPEND = 'budget:{org:acme}:org:acme:spendPerDayUsd';
const CONC = 'budget:{org:acme}:org:acme:concurrent';

function setup(tier: Record<string, number> = { concurrent: 5, spendPerDayUsd: 10 }) {
  const clock = new FakeClock(1_700_000_040_000);
  const inner = new MemoryStore({ clock });
  const store = new FaultyStore(inner);
  const warnings: string[] = [];
  const policy = new BudgetPolicy({
    store,
    clock,
    prices,
    tiers: { free: tier },
    alerts: [],
    logger: { warn: (m) => warnings.push(m) },
  });
  const ctx = () => new RequestContext({ principal: { orgId: 'acme' }, clock });
  return { clock, inner, store, policy, ctx, warnings };
}

describe('settlements deferred while the store is unreachable', () => {
  it('a settlement the store never got is written once it is back, exactly once', async () => {
    const { inner, store, policy, ctx } = setup();
    const r = await policy.reserve(request(), ctx());
    store.mode = 'down';
    await expect(policy.settle(r, usage)).resolves.toMatchObject({ chargedUsd: 0.14, remainingUsd: undefined });
    expect(policy.pendingSettlements).toBe(1);
    store.mode = 'up';
    const next = await policy.reserve(request(), ctx());
    await policy.release(next);
    expect(policy.pendingSettlements).toBe(0);
    expect(await inner.total(SPEND, DAY)).toBe(140_000);
    await policy.flush();
    expect(await inner.total(SPEND, DAY)).toBe(140_000);
  });

  it('a settlement whose reply was lost after the store applied it is not charged twice when retried', async () => {
    const { inner, store, policy, ctx } = setup();
    const r = await policy.reserve(request(), ctx());
    store.mode = 'lost-reply';
    await policy.settle(r, usage);
    expect(policy.pendingSettlements).toBe(1);
    expect(await inner.total(SPEND, DAY)).toBe(140_000);
    store.mode = 'up';
    await policy.flush();
    expect(policy.pendingSettlements).toBe(0);
    expect(await inner.total(SPEND, DAY)).toBe(140_000);
  });

  it('a release during an outage ends the lease as soon as the store is back, not when the lease expires', async () => {
    const { inner, store, policy, ctx } = setup({ concurrent: 1 });
    const r = await policy.reserve(request(), ctx());
    store.mode = 'down';
    await policy.release(r);
    expect(policy.pendingSettlements).toBe(1);
    store.mode = 'up';
    // The queued release lands before this decision, so the one concurrent slot is free again.
    await expect(policy.reserve(request(), ctx())).resolves.toMatchObject({ decision: 'allowed' });
    expect(await inner.total(CONC, 0)).toBe(1);
  });

  it('a fail-closed refusal whose acquire the store still applied does not hold its lease until expiry', async () => {
    const { inner, store, policy, ctx } = setup({ concurrent: 1, spendPerDayUsd: 10 });
    store.mode = 'lost-reply';
    const err = await policy.reserve(request(), ctx()).catch((e: unknown) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('dependency_unavailable');
    expect(await inner.total(CONC, 0)).toBe(1); // the store took the lease after all
    store.mode = 'up';
    await policy.flush();
    expect(await inner.total(CONC, 0)).toBe(0);
    expect(await inner.total(SPEND, DAY)).toBe(0);
    await expect(policy.reserve(request(), ctx())).resolves.toMatchObject({ decision: 'allowed' });
  });

  it('a deferred settlement the store rejects outright is dropped with a warning, not retried for ever', async () => {
    const { inner, store, policy, ctx, warnings } = setup();
    const a = await policy.reserve(request(), ctx());
    const b = await policy.reserve(request(), ctx());
    store.mode = 'down';
    await policy.settle(a, usage);
    await policy.settle(b, usage);
    store.mode = 'up';
    store.rejectKeys.add(SPEND);
    await policy.flush();
    expect(policy.pendingSettlements).toBe(0);
    expect(warnings.filter((w) => w.includes('rejected a deferred settlement'))).toHaveLength(2);
    store.rejectKeys.clear();
    await expect(policy.reserve(request(), ctx())).resolves.toMatchObject({ decision: 'allowed' });
    expect(await inner.total(SPEND, DAY)).toBeGreaterThan(0);
  });

  it('a store that passes the raw ioredis ReplyError through gets the same: the refused settlement is dropped with a warning', async () => {
    const { store, policy, ctx, warnings } = setup();
    const a = await policy.reserve(request(), ctx());
    store.mode = 'down';
    await policy.settle(a, usage);
    store.mode = 'up';
    store.rawRefusals = true;
    store.rejectKeys.add(SPEND);
    await policy.flush();
    expect(policy.pendingSettlements).toBe(0);
    expect(warnings.filter((w) => w.includes('rejected a deferred settlement'))).toHaveLength(1);
  });

  it('flush() rejects while the store is down and keeps the settlements; concurrent flushes write each once', async () => {
    const { inner, store, policy, ctx } = setup();
    const rs = await Promise.all([1, 2, 3].map(() => policy.reserve(request(), ctx())));
    store.mode = 'down';
    for (const r of rs) await policy.settle(r, usage);
    await expect(policy.flush()).rejects.toThrow('Connection is closed');
    expect(policy.pendingSettlements).toBe(3);
    store.mode = 'up';
    await Promise.all([
      policy.flush(),
      policy.flush(),
      policy.reserve(request(), ctx()).then((r) => policy.release(r)),
    ]);
    expect(policy.pendingSettlements).toBe(0);
    expect(await inner.total(SPEND, DAY)).toBe(3 * 140_000);
  });

  it('close() flushes, closes a store the policy created, and names what it could not write', async () => {
    const own = new BudgetPolicy({ prices, tiers: { free: { rpm: 5 } } });
    await own.reserve(request(), new RequestContext({ principal: { orgId: 'acme' } }));
    expect((own.store as MemoryStore).size).toBe(1);
    await own.close();
    expect((own.store as MemoryStore).size).toBe(0);

    const { inner, store, policy, ctx, warnings } = setup();
    const r = await policy.reserve(request(), ctx());
    store.mode = 'down';
    await policy.settle(r, usage);
    await expect(policy.close()).resolves.toBeUndefined();
    expect(warnings.at(-1)).toContain(`${SPEND} $0.14`);
    expect(warnings.at(-1)).toContain('1 settlements');
    store.mode = 'up';
    expect(await inner.total(CONC, 0)).toBe(1); // a store passed in stays open
  });
});

describe('SettlementQueue', () => {
  it('stays bounded: past `max` items the oldest charges fold per key, and no charge is lost', async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const store = new MemoryStore({ clock });
    const warnings: string[] = [];
    const queue = new SettlementQueue({ store, clock, logger: { warn: (m) => warnings.push(m) }, max: 3 });
    for (let i = 0; i < 40; i++) {
      queue.defer({
        id: `L${i}`,
        tag: 't',
        entries: [
          { key: '{t}:usd', windowMs: DAY, amount: 5 },
          { key: '{t}:conc', windowMs: 0, amount: 0 },
        ],
      });
      queue.defer({ id: `R${i}`, tag: 't', entries: [{ key: '{t}:conc', windowMs: 0, amount: 0 }] });
      expect(queue.size).toBeLessThanOrEqual(3 + 1);
    }
    expect(queue.charges()).toEqual(new Map([['{t}:usd', 200]]));
    expect(warnings).toHaveLength(1);
    await queue.flush();
    expect(queue.size).toBe(0);
    expect(await store.total('{t}:usd', DAY)).toBe(200);
  });

  it('a flush called after the store is back writes now, not failing with a pass that began during the outage', async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const inner = new MemoryStore({ clock });
    // The first settle hangs (the outage), then fails like a timed-out command; later ones work.
    let failFirst!: (error: Error) => void;
    let calls = 0;
    const store = Object.assign(Object.create(inner) as MemoryStore, {
      settle: (...args: Parameters<MemoryStore['settle']>) =>
        ++calls === 1
          ? new Promise<number[]>((_, reject) => {
              failFirst = reject;
            })
          : inner.settle(...args),
    });
    const queue = new SettlementQueue({ store, clock, logger: { warn: () => {} } });
    queue.defer({ id: 'L1', tag: 't', entries: [{ key: '{t}:usd', windowMs: DAY, amount: 5 }] });
    const background = queue.flush();
    background.catch(() => {});
    // The store is back; an operator flushes (shutdown, say) while the old pass is still waiting.
    const flushed = queue.flush();
    failFirst(new Error('Command timed out'));
    await expect(background).rejects.toThrow('Command timed out');
    await expect(flushed).resolves.toBeUndefined();
    expect(queue.size).toBe(0);
    expect(await inner.total('{t}:usd', DAY)).toBe(5);
  });

  it('background flushes that keep failing warn once per outage, naming how much waits', async () => {
    const { store, policy, ctx, warnings } = setup();
    const r = await policy.reserve(request(), ctx());
    store.mode = 'down';
    await policy.settle(r, usage);
    for (let i = 0; i < 3; i++) await policy.reserve(request(), ctx()).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 10));
    const failed = () => warnings.filter((w) => w.includes('could not be written'));
    expect(failed()).toHaveLength(1);
    expect(failed()[0]).toMatch(/: [1-9]\d* deferred settlement\(s\) could not be written \(Connection is closed\.\)/);
    store.mode = 'up';
    await policy.flush();
    expect(policy.pendingSettlements).toBe(0);
    // A new outage warns again.
    const again = await policy.reserve(request(), ctx());
    store.mode = 'down';
    await policy.settle(again, usage);
    await policy.reserve(request(), ctx()).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(failed()).toHaveLength(2);
  });

  it('past every bound, drops a charge with a warning naming it', async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const warnings: string[] = [];
    const queue = new SettlementQueue({
      store: new MemoryStore({ clock }),
      clock,
      logger: { warn: (m) => warnings.push(m) },
      max: 1,
    });
    for (const key of ['{a}:usd', '{b}:usd', '{c}:usd']) {
      queue.defer({ id: key, tag: key, entries: [{ key, windowMs: DAY, amount: 7 }] });
    }
    expect(queue.size).toBe(2);
    expect(warnings.some((w) => w.includes('dropping a charge ({b}:usd +7)'))).toBe(true);
  });
});
