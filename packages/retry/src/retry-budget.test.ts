import { MemoryStore, type StateStore } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { RedisStore } from '@rel/redis';
import { type RedisServerHandle, startRedisServer } from '@rel/redis/testing';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget';

let redis: RedisServerHandle;
let prefixes = 0;
const opened: StateStore[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await redis.stop();
});

/** Stores instances in several processes could share: one process's memory, and a real Redis. */
const stores: [string, (clock: FakeClock) => StateStore][] = [
  ['MemoryStore', (clock) => new MemoryStore({ clock })],
  ['RedisStore', (clock) => new RedisStore({ url: redis.url, keyPrefix: `b${++prefixes}:`, clock })],
];
const open = (make: (clock: FakeClock) => StateStore, clock: FakeClock) => {
  const store = make(clock);
  opened.push(store);
  return store;
};

async function grants(budget: RetryBudget, n: number): Promise<number> {
  let granted = 0;
  for (let i = 0; i < n; i++) if (await budget.tryWithdraw()) granted++;
  return granted;
}

describe('RetryBudget', () => {
  it('allows retries up to ratio x requests plus the per-second floor', async () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0.5, windowMs: 10_000, clock });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    // 0.2 * 100 + 0.5 * 10 = 25
    expect(await grants(budget, 40)).toBe(25);
    expect(await budget.snapshot()).toEqual({ requests: 100, retries: 25, allowance: 25 });
  });

  it('forgets requests and retries once the window has passed', async () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, windowMs: 1_000, clock });
    budget.recordRequest();
    expect(await grants(budget, 3)).toBe(1);
    await clock.advance(1_000);
    expect(await budget.snapshot()).toEqual({ requests: 0, retries: 0, allowance: 0 });
    expect(await grants(budget, 1)).toBe(0);
    budget.recordRequest();
    expect(await grants(budget, 1)).toBe(1);
  });

  it.each(stores)('is shared by two instances over one %s, and never overshoots between them', async (_n, make) => {
    const clock = new FakeClock(0);
    const store = open(make, clock);
    const a = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0, windowMs: 10_000, store, key: 'svc', clock });
    const b = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0, windowMs: 10_000, store, key: 'svc', clock });
    for (let i = 0; i < 50; i++) a.recordRequest();
    for (let i = 0; i < 50; i++) b.recordRequest();
    // Deposits are not awaited (they stay off the request path); wait until the store has them all.
    for (let i = 0; i < 200 && (await a.snapshot()).requests < 100; i++) await new Promise((r) => setTimeout(r, 5));
    const results = await Promise.all([
      ...Array.from({ length: 15 }, () => a.tryWithdraw()),
      ...Array.from({ length: 15 }, () => b.tryWithdraw()),
    ]);
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await a.snapshot()).toEqual({ requests: 100, retries: 10, allowance: 10 });
    expect(await b.snapshot()).toEqual(await a.snapshot());
  });

  it('fails open and reports when the store is unreachable', async () => {
    const errors: unknown[] = [];
    const broken = new MemoryStore();
    const store: StateStore = Object.assign(Object.create(broken) as StateStore, {
      increment: () => Promise.reject(new Error('store down')),
      get: () => Promise.reject(new Error('store down')),
    });
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0, store, onStoreError: (e) => errors.push(e) });
    budget.recordRequest();
    expect(await budget.tryWithdraw()).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(errors.length).toBeGreaterThanOrEqual(2);
  });

  it('fails open over a Redis that died, reporting each store failure', async () => {
    const own = await startRedisServer();
    const clock = new FakeClock(0);
    const store = new RedisStore({ url: own.url, clock, commandTimeoutMs: 200 });
    const errors: unknown[] = [];
    try {
      const budget = new RetryBudget({
        ratio: 0,
        minRetriesPerSecond: 0,
        store,
        clock,
        onStoreError: (e) => errors.push(e),
      });
      budget.recordRequest();
      expect(await budget.tryWithdraw()).toBe(false);
      await own.kill();
      expect(await budget.tryWithdraw()).toBe(true);
      expect(errors.length).toBeGreaterThanOrEqual(1);
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('rejects a bad option, naming the field', () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(/"ratio"/);
  });

  it('property: over any sequence of requests, retries and time steps, every granted retry keeps the window within the ratio', async () => {
    const op = fc.oneof(
      fc.constant({ t: 'request' as const }),
      fc.constant({ t: 'retry' as const }),
      fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        // Long sequences: fast-check's short default arrays would rarely get past the floor.
        fc.array(op, { minLength: 50, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.constantFrom('none', 'MemoryStore', 'RedisStore'),
        async (ops, ratio, minPerSecond, shared) => {
          const windowMs = 10_000;
          const clock = new FakeClock(0);
          const make = stores.find(([name]) => name === shared)?.[1];
          const store = make ? open(make, clock) : undefined;
          const budget = new RetryBudget({
            ratio,
            minRetriesPerSecond: minPerSecond,
            windowMs,
            clock,
            ...(store ? { store } : {}),
          });
          // A reference log, counted with the budget's documented window: the ten 1 s buckets up to now.
          const log: { at: number; retry: boolean }[] = [];
          const inWindow = (at: number) => at >= Math.floor(clock.now() / 1_000) * 1_000 - 9_000;
          const counts = () => {
            const live = log.filter((e) => inWindow(e.at));
            const requests = live.filter((e) => !e.retry).length;
            return { requests, retries: live.length - requests };
          };
          const allowance = (requests: number) => ratio * requests + (minPerSecond * windowMs) / 1000;
          for (const o of ops) {
            if (o.t === 'advance') await clock.advance(o.ms);
            else if (o.t === 'request') {
              budget.recordRequest();
              log.push({ at: clock.now(), retry: false });
            } else {
              const before = counts();
              const granted = await budget.tryWithdraw();
              if (granted) log.push({ at: clock.now(), retry: true });
              // Whenever a retry is granted, the window's retries (this one included) fit the ratio.
              // (Later, old requests slide out while the retries stay: then the budget refuses.)
              const after = counts();
              if (granted) expect(after.retries).toBeLessThanOrEqual(allowance(after.requests) + 1e-9);
              // In memory the budget is exact: it refuses only a retry that would not fit.
              if (!granted && !store) expect(before.retries + 1).toBeGreaterThan(allowance(before.requests) - 1e-9);
            }
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});
