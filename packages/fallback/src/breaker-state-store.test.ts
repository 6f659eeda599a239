import { EventHub, MemoryStore, RelError, type SettleEntry, type StateStore } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { RedisStore } from '@rel/redis';
import { type RedisServerHandle, startRedisServer } from '@rel/redis/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker';

let redis: RedisServerHandle;
const opened: StateStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await redis.stop();
});

/** The stores several gateway processes could share: one process's memory, and a real Redis. */
const stores: [string, (clock: FakeClock) => StateStore][] = [
  ['MemoryStore', (clock) => new MemoryStore({ clock })],
  // A fresh key prefix per test keeps tests apart on the one server; decisions use the fake clock.
  ['RedisStore', (clock) => new RedisStore({ url: redis.url, keyPrefix: `t${++prefixes}:`, clock })],
];

const fail = () => Promise.reject(new RelError({ kind: 'provider_unavailable', status: 503 }));

describe.each(stores)('CircuitBreaker shared through %s', (_name, makeStore) => {
  /** Two breakers with one key over one store: two gateway processes sharing it. */
  function twoInstances(options: CircuitBreakerOptions = {}) {
    const clock = new FakeClock(0);
    const store = makeStore(clock);
    opened.push(store);
    const events = new EventHub();
    const log: string[] = [];
    events.on('breaker-state', (e) => log.push(`${e.from}->${e.to}`));
    const make = () => new CircuitBreaker({ name: 'primary', key: 'gw:primary', clock, store, events, ...options });
    return { clock, store, a: make(), b: make(), log };
  }

  it('failures seen by one instance open the breaker for the other', async () => {
    const { a, b } = twoInstances({ consecutiveFailures: 4 });
    await a.execute(fail).catch(() => {});
    await b.execute(fail).catch(() => {});
    await a.execute(fail).catch(() => {});
    expect(await b.refresh()).toBe('closed');
    await b.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('open');
    const err = await a.execute(async () => 'never').catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('circuit_open');
  });

  it('counts the failure-rate window across instances', async () => {
    const { a, b } = twoInstances({ failureRate: { threshold: 0.5, windowMs: 10_000, minimumCalls: 4 } });
    await a.execute(fail).catch(() => {});
    await b.execute(async () => 'ok');
    await a.execute(async () => 'ok');
    expect(await a.refresh()).toBe('closed');
    await b.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('open');
  });

  it('forgets failures that slid out of the shared window', async () => {
    const { a, b, clock } = twoInstances({ failureRate: { threshold: 0.5, windowMs: 10_000, minimumCalls: 2 } });
    await a.execute(fail).catch(() => {});
    await clock.advance(11_000);
    await b.execute(async () => 'ok');
    await a.execute(async () => 'ok');
    expect(await b.refresh()).toBe('closed');
  });

  it('lets exactly maxProbes probes through across instances, and one transition per change', async () => {
    const { a, b, clock, log } = twoInstances({ consecutiveFailures: 1, openMs: 1_000, halfOpen: { maxProbes: 2 } });
    await a.execute(fail).catch(() => {});
    await clock.advance(1_000);
    const admissions = await Promise.all([a.enter(), b.enter(), a.enter(), b.enter()]);
    expect(admissions.filter((x) => x === 'probe')).toHaveLength(2);
    expect(admissions.filter((x) => x === 'reject')).toHaveLength(2);
    await a.record('probe', 'success', 5);
    await b.record('probe', 'success', 5);
    expect(await a.refresh()).toBe('closed');
    expect(log).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
  });

  it('a probe whose outcome never arrives (its process died) does not hold the breaker half-open forever', async () => {
    const { a, b, clock, log } = twoInstances({
      consecutiveFailures: 1,
      openMs: 1_000,
      halfOpen: { maxProbes: 1, probeTimeoutMs: 5_000 },
    });
    await a.execute(fail).catch(() => {});
    await clock.advance(1_000);
    expect(await a.enter()).toBe('probe'); // and instance a crashes before recording it
    await clock.advance(4_999);
    expect(await b.enter()).toBe('reject');
    await clock.advance(1);
    expect(await b.enter()).toBe('reject');
    expect(await b.refresh()).toBe('open');
    await clock.advance(1_000);
    expect(await b.enter()).toBe('probe');
    await b.record('probe', 'success', 5);
    expect(await a.refresh()).toBe('closed');
    expect(log).toEqual(['closed->open', 'open->half_open', 'half_open->open', 'open->half_open', 'half_open->closed']);
  });

  it('a fresh closed period starts with empty counters', async () => {
    const { a, b, clock } = twoInstances({ consecutiveFailures: 2, openMs: 1_000 });
    await a.execute(fail).catch(() => {});
    await a.execute(fail).catch(() => {});
    await clock.advance(1_000);
    await b.execute(async () => 'ok');
    expect(await a.refresh()).toBe('closed');
    await a.execute(fail).catch(() => {});
    expect(await b.refresh()).toBe('closed');
  });

  it('manual controls on one instance hold for the other', async () => {
    const { a, b, clock } = twoInstances({ consecutiveFailures: 1, openMs: 1_000 });
    await a.forceOpen();
    await clock.advance(10_000);
    expect(await b.enter()).toBe('reject');
    expect(b.forced).toBe(true);
    await b.forceClose();
    await a.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('closed');
    await a.reset();
    await b.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('open');
  });

  it('keeps its state in the store under its key', async () => {
    const { a, store } = twoInstances({ consecutiveFailures: 1 });
    await a.execute(fail).catch(() => {});
    expect(JSON.parse((await store.get('gw:primary:state')) ?? '{}')).toMatchObject({ s: 'open', at: 0 });
  });
});

describe('CircuitBreaker when its shared store fails', () => {
  it('over a Redis that died: calls still pass, outcomes are dropped, and each failure is reported', async () => {
    const own = await startRedisServer();
    const clock = new FakeClock(0);
    const store = new RedisStore({ url: own.url, clock, commandTimeoutMs: 200 });
    const events = new EventHub();
    const reported: string[] = [];
    const errors: unknown[] = [];
    events.on('store-error', (e) => reported.push(`${e.store}:${e.policy}:${e.decision}`));
    const breaker = new CircuitBreaker({
      name: 'primary',
      consecutiveFailures: 1,
      clock,
      store,
      events,
      onStoreError: (e) => errors.push(e),
    });
    try {
      expect(await breaker.execute(async () => 'ok')).toBe('ok');
      await own.kill();
      expect(await breaker.execute(async () => 'still served')).toBe('still served');
      const err = await breaker.execute(fail).catch((e) => e);
      expect(RelError.is(err) && err.failure.kind).toBe('provider_unavailable');
      expect(reported).toEqual([
        'redis:breaker:fail_open',
        'redis:breaker:fail_open',
        'redis:breaker:fail_open',
        'redis:breaker:fail_open',
      ]);
      expect(errors).toHaveLength(4);
      await expect(breaker.forceOpen()).rejects.toThrow();
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('keeps refusing while the breaker it last saw open has not reached openMs', async () => {
    const clock = new FakeClock(0);
    let down = false;
    class Flaky extends MemoryStore {
      override get(key: string) {
        return down ? Promise.reject(new Error('store down')) : super.get(key);
      }
    }
    const flaky = new Flaky({ clock });
    const events = new EventHub();
    const decisions: string[] = [];
    events.on('store-error', (e) => decisions.push(e.decision));
    const breaker = new CircuitBreaker({
      name: 'p',
      consecutiveFailures: 1,
      openMs: 1_000,
      clock,
      store: flaky,
      events,
    });
    await breaker.execute(fail).catch(() => {});
    expect(breaker.state).toBe('open');
    down = true;
    expect(await breaker.enter()).toBe('reject');
    await clock.advance(1_000);
    expect(await breaker.enter()).toBe('pass');
    expect(decisions).toEqual(['fail_closed', 'fail_open']);
  });

  it('puts the counters of one window update in one Redis Cluster slot (a shared hash tag)', async () => {
    const clock = new FakeClock(0);
    const settled: string[][] = [];
    class Recording extends MemoryStore {
      override settle(lease: string, entries: readonly SettleEntry[]) {
        settled.push(entries.map((e) => e.key));
        return super.settle(lease, entries);
      }
    }
    const tagOf = (key: string) => /\{([^}]+)\}/.exec(key)?.[1];
    for (const key of ['rel:breaker:gpt', 'gw:{tenant-a}:gpt']) {
      settled.length = 0;
      const breaker = new CircuitBreaker({
        key,
        clock,
        store: new Recording({ clock }),
        failureRate: { threshold: 0.5, windowMs: 10_000, minimumCalls: 10 },
        slowCallRate: { threshold: 0.5, slowCallMs: 100, windowMs: 10_000, minimumCalls: 10 },
      });
      await breaker.execute(async () => 'ok');
      expect(settled).toHaveLength(2);
      const tags = settled.flat().map(tagOf);
      expect(new Set(tags).size).toBe(1);
      expect(tags[0]).toBe(key === 'rel:breaker:gpt' ? 'rel:breaker:gpt' : 'tenant-a');
    }
  });
});
