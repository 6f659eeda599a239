import { storeConformanceCases } from '@rel/core/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store';
import { type RedisServerHandle, startRedisServer } from './testing/redis-server';

let server: RedisServerHandle;
let n = 0;
const fresh = () => `t${++n}:`;

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('RedisStore (defaults: batched acquires) meets the StateStore conformance suite', () => {
  for (const c of storeConformanceCases({
    create: (clock) => new RedisStore({ url: server.url, keyPrefix: fresh(), ...(clock ? { clock } : {}) }),
  })) {
    it(c.name, c.run);
  }
});

describe('RedisStore with batchAcquire off (one EVALSHA per acquire) meets the StateStore conformance suite', () => {
  for (const c of storeConformanceCases({
    create: (clock) =>
      new RedisStore({ url: server.url, keyPrefix: fresh(), batchAcquire: false, ...(clock ? { clock } : {}) }),
  })) {
    it(c.name, c.run);
  }
});

describe('RedisStore', () => {
  it('two store instances on one Redis share one limit', async () => {
    const prefix = fresh();
    const a = new RedisStore({ url: server.url, keyPrefix: prefix });
    const b = new RedisStore({ url: server.url, keyPrefix: prefix });
    const op = { type: 'quota', key: '{org:acme}:req', limit: 30, windowMs: 60_000, cost: 1 } as const;
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).acquire([op])));
    expect(results.filter((r) => r.allowed)).toHaveLength(30);
    expect(await a.total('{org:acme}:req', 60_000)).toBe(30);
    await Promise.all([a.close(), b.close()]);
  });

  it('stores every key under the prefix with the caller hash tag intact, one slot per tag', async () => {
    const prefix = fresh();
    const store = new RedisStore({ url: server.url, keyPrefix: prefix });
    await store.acquire([
      { type: 'rate', key: '{org:acme}:rpm', limit: 10, periodMs: 60_000, cost: 1 },
      { type: 'quota', key: '{org:acme}:usd', limit: 10, windowMs: 60_000, cost: 1, lease: { id: 'L', ttlMs: 1000 } },
    ]);
    const raw = new Redis(server.url);
    expect((await raw.keys(`${prefix}*`)).sort()).toEqual([`${prefix}{org:acme}:rpm`, `${prefix}{org:acme}:usd`]);
    expect(await raw.hgetall(`${prefix}{org:acme}:usd`)).toEqual({ lL: expect.stringMatching(/^1:\d+$/) });
    const ttl = await raw.pttl(`${prefix}{org:acme}:usd`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    raw.disconnect();
    await store.close();
  });

  it('uses an existing ioredis client as is and leaves it open on close', async () => {
    const client = new Redis(server.url, { enableOfflineQueue: true });
    const store = new RedisStore({ client, keyPrefix: fresh() });
    await store.set('k', 'v');
    await store.close();
    expect(await client.ping()).toBe('PONG');
    expect(await store.get('k')).toBe('v');
    client.disconnect();
  });

  it('rejects a bad option naming the field', () => {
    expect(() => new RedisStore({ url: server.url, keyPrefix: 'a{b}' })).toThrow(/keyPrefix/);
    expect(() => new RedisStore({ url: server.url, commandTimeoutMs: -1 })).toThrow(/commandTimeoutMs/);
    expect(() => new RedisStore({ keyPrefix: 'x' })).toThrow(/url.*client/);
    expect(() => new RedisStore({ url: 'http://127.0.0.1:6379' })).toThrow(/url/);
    expect(() => new RedisStore({ url: 'localhost:6379' })).toThrow(/url/);
    expect(() => new RedisStore({ url: 'rediss://cache.internal:6380/2', commandTimeoutMs: 50 })).not.toThrow();
  });

  it('a Redis killed mid-run makes every method reject instead of hanging, and recovers on restart', async () => {
    const own = await startRedisServer();
    const store = new RedisStore({ url: own.url, keyPrefix: fresh(), commandTimeoutMs: 200 });
    const op = { type: 'rate', key: '{u}:rpm', limit: 100, periodMs: 60_000, cost: 1 } as const;
    expect((await store.acquire([op])).allowed).toBe(true);
    await own.kill();
    const guard = new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 5000));
    const outcomes = await Promise.all(
      [store.acquire([op]), store.settle('L', [{ key: '{u}:q', windowMs: 1000, amount: 1 }]), store.get('x')].map((p) =>
        Promise.race([
          p.then(
            () => 'resolved',
            () => 'rejected',
          ),
          guard,
        ]),
      ),
    );
    expect(outcomes).toEqual(['rejected', 'rejected', 'rejected']);
    const again = await startRedisServer({ port: own.port });
    let allowed = false;
    for (let i = 0; i < 100 && !allowed; i++) {
      allowed = await store.acquire([op]).then(
        (r) => r.allowed,
        () => false,
      );
      if (!allowed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(allowed).toBe(true);
    await store.close();
    await again.stop();
  });

  it('a store whose Redis was never reachable rejects at once', async () => {
    const dead = await startRedisServer();
    await dead.stop();
    const store = new RedisStore({ url: dead.url, commandTimeoutMs: 200, connectTimeoutMs: 200 });
    await expect(store.acquire([{ type: 'rate', key: 'k', limit: 1, periodMs: 1000, cost: 1 }])).rejects.toThrow();
    await store.close();
  });

  for (const [autoPipelining, batchAcquire] of [
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ]) {
    it(`with autoPipelining ${autoPipelining} and batchAcquire ${batchAcquire}, 100 concurrent decisions on a limit of 40 admit exactly 40, each remaining once`, async () => {
      const store = new RedisStore({ url: server.url, keyPrefix: fresh(), autoPipelining, batchAcquire });
      expect((store.client as Redis).options.enableAutoPipelining).toBe(autoPipelining);
      const op = { type: 'quota', key: 'q', limit: 40, windowMs: 60_000, cost: 1 } as const;
      const results = await Promise.all(Array.from({ length: 100 }, () => store.acquire([op])));
      const admitted = results.filter((r) => r.allowed).map((r) => r.results[0]?.remaining);
      expect(admitted.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 40 }, (_, i) => i));
      await store.close();
    });
  }
});
