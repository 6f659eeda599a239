import { type LimitOp, MemoryStore, RelError } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store';
import { type RedisServerHandle, startRedisServer } from './testing/redis-server';

let server: RedisServerHandle;
let n = 0;
const fresh = () => `b${++n}:`;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Counts the EVALSHA / EVAL calls the server runs while `body` runs. */
async function scriptCalls(body: () => Promise<void>): Promise<number> {
  const raw = new Redis(server.url);
  const calls = async () => {
    const info = await raw.info('commandstats');
    return ['evalsha', 'eval'].reduce(
      (sum, c) => sum + Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(info)?.[1] ?? 0),
      0,
    );
  };
  const before = await calls();
  await body();
  const after = await calls();
  raw.disconnect();
  return after - before;
}

describe('RedisStore batchAcquire', () => {
  it('sends the acquires of one turn as one script run, each caller getting its own decision', async () => {
    const store = new RedisStore({ url: server.url, keyPrefix: fresh(), batchAcquire: true });
    await store.acquire([{ type: 'rate', key: 'warm', limit: 1, periodMs: 1000, cost: 0 }]);
    let results: Awaited<ReturnType<RedisStore['acquire']>>[] = [];
    const calls = await scriptCalls(async () => {
      results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          store.acquire([
            { type: 'rate', key: `{u${i % 3}}:rpm`, limit: 5, periodMs: 60_000, cost: 1 },
            {
              type: 'quota',
              key: `{u${i % 3}}:q`,
              limit: 100,
              windowMs: 60_000,
              cost: i,
              lease: { id: `L${i}`, ttlMs: 5000 },
            },
          ]),
        ),
      );
    });
    expect(calls).toBe(1);
    // Each user's first five decisions pass, in call order; each result names its own keys.
    results.forEach((r, i) => {
      expect(r.allowed).toBe(Math.floor(i / 3) < 5);
      expect(r.results.map((x) => x.key)).toEqual([`{u${i % 3}}:rpm`, `{u${i % 3}}:q`]);
    });
    expect(await store.total('{u0}:q', 60_000)).toBe(0 + 3 + 6 + 9 + 12);
    await store.close();
  });

  it('splits a turn into runs of at most maxBatch decisions, still deciding them in call order', async () => {
    const store = new RedisStore({ url: server.url, keyPrefix: fresh(), maxBatch: 10 });
    await store.acquire([{ type: 'rate', key: 'warm', limit: 1, periodMs: 1000, cost: 0 }]);
    let results: Awaited<ReturnType<RedisStore['acquire']>>[] = [];
    const calls = await scriptCalls(async () => {
      results = await Promise.all(
        Array.from({ length: 25 }, () =>
          store.acquire([{ type: 'rate', key: 'rpm', limit: 12, periodMs: 60_000, cost: 1 }]),
        ),
      );
    });
    expect(calls).toBe(3);
    expect(results.map((r) => r.allowed)).toEqual(Array.from({ length: 25 }, (_, i) => i < 12));
    expect(results.slice(0, 12).map((r) => r.results[0]?.remaining)).toEqual(
      Array.from({ length: 12 }, (_, i) => 11 - i),
    );
    await store.close();
  });

  it('rejects a maxBatch that is not a whole number from 1 to 1024, naming the field', () => {
    for (const maxBatch of [0, 1.5, 2000]) {
      expect(() => new RedisStore({ url: server.url, maxBatch })).toThrow(/maxBatch/);
    }
  });

  it('decides concurrent acquires of one turn exactly as MemoryStore decides them one after another', async () => {
    const op = fc.oneof(
      fc.record({
        type: fc.constant('rate' as const),
        key: fc.constantFrom('r1', 'r2'),
        limit: fc.constantFrom(0, 2, 5),
        periodMs: fc.constantFrom(10_000, 60_000),
        cost: fc.constantFrom(0, 1, 2),
      }),
      fc.record({
        type: fc.constant('quota' as const),
        key: fc.constantFrom('q1', 'q2'),
        limit: fc.constantFrom(3, 10.5),
        windowMs: fc.constant(60_000),
        cost: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.double({ min: 0, max: 4, noNaN: true })),
        lease: fc.option(fc.record({ id: fc.constantFrom('L1', 'L2'), ttlMs: fc.constant(20_000) }), {
          nil: undefined,
        }),
      }),
    );
    const acquire = fc.uniqueArray(op, { minLength: 1, maxLength: 3, selector: (o) => o.key });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(acquire, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        async (turns) => {
          const clock = new FakeClock(1_700_000_000_000.5);
          const memory = new MemoryStore({ clock });
          // A generous command timeout: this proves the decisions, and a loaded machine may be slow.
          const redis = new RedisStore({
            url: server.url,
            keyPrefix: fresh(),
            clock,
            batchAcquire: true,
            commandTimeoutMs: 10_000,
          });
          try {
            for (const turn of turns) {
              const batched = await Promise.all(turn.map((ops) => redis.acquire(ops as LimitOp[])));
              const sequential = [];
              for (const ops of turn) sequential.push(await memory.acquire(ops as LimitOp[]));
              expect(batched).toEqual(sequential);
              await clock.advance(3000);
            }
          } finally {
            await redis.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an error in one decision fails only its caller; the others of the batch still apply', async () => {
    const prefix = fresh();
    const store = new RedisStore({ url: server.url, keyPrefix: prefix, batchAcquire: true });
    const raw = new Redis(server.url);
    await raw.hset(`${prefix}{h}:rate`, 'x', '1'); // a hash where a rate limit expects a string
    const outcomes = await Promise.allSettled([
      store.acquire([{ type: 'quota', key: '{a}:q', limit: 10, windowMs: 60_000, cost: 2 }]),
      store.acquire([{ type: 'rate', key: '{h}:rate', limit: 10, periodMs: 60_000, cost: 1 }]),
      store.acquire([{ type: 'quota', key: '{a}:q', limit: 10, windowMs: 60_000, cost: 3 }]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (outcomes[1] as PromiseRejectedResult).reason;
    expect(RelError.is(error) && error.failure.kind).toBe('internal');
    expect(String(error.message)).toMatch(/WRONGTYPE/);
    expect(await store.total('{a}:q', 60_000)).toBe(5);
    raw.disconnect();
    await store.close();
  });

  it('a decision refused on a later key of another type writes none of its earlier keys', async () => {
    const prefix = fresh();
    const store = new RedisStore({ url: server.url, keyPrefix: prefix, batchAcquire: true });
    const raw = new Redis(server.url);
    await raw.rpush(`${prefix}{p}:bad`, 'x'); // a list where a quota expects a hash
    const outcomes = await Promise.allSettled([
      store.acquire([
        { type: 'rate', key: '{p}:rpm', limit: 10, periodMs: 60_000, cost: 1 },
        { type: 'quota', key: '{p}:usd', limit: 10, windowMs: 60_000, cost: 2 },
        { type: 'quota', key: '{p}:bad', limit: 10, windowMs: 60_000, cost: 1 },
      ]),
      store.acquire([{ type: 'quota', key: '{p}:other', limit: 10, windowMs: 60_000, cost: 1 }]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason.message)).toMatch(/WRONGTYPE/);
    expect((await raw.keys(`${prefix}*`)).sort()).toEqual([`${prefix}{p}:bad`, `${prefix}{p}:other`]);
    raw.disconnect();
    await store.close();
  });

  it('a batch the server refuses rejects every caller with a RelError and leaves no reservation behind', async () => {
    const own = await startRedisServer();
    const prefix = fresh();
    const store = new RedisStore({ url: own.url, keyPrefix: prefix, batchAcquire: true });
    const raw = new Redis(own.url);
    await raw.config('SET', 'maxmemory-policy', 'noeviction');
    await raw.config('SET', 'maxmemory', '1');
    const lease = (i: number) => ({ id: `L${i}`, ttlMs: 60_000 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        store.acquire([
          { type: 'quota', key: '{o}:usd', limit: 100, windowMs: 60_000, cost: 1, lease: lease(i) },
          { type: 'rate', key: '{o}:rpm', limit: 100, periodMs: 60_000, cost: 1 },
        ]),
      ),
    );
    expect(outcomes.every((o) => o.status === 'rejected' && RelError.is(o.reason))).toBe(true);
    await raw.config('SET', 'maxmemory', '0');
    expect(await raw.keys(`${prefix}*`)).toEqual([]);
    expect(await store.total('{o}:usd', 60_000)).toBe(0);
    raw.disconnect();
    await store.close();
    await own.stop();
  });

  it('a batch that cannot reach Redis rejects every caller with dependency_unavailable carrying the cause', async () => {
    const own = await startRedisServer();
    const store = new RedisStore({ url: own.url, keyPrefix: fresh(), batchAcquire: true, commandTimeoutMs: 200 });
    const op = { type: 'rate', key: 'k', limit: 10, periodMs: 1000, cost: 1 } as const;
    expect((await store.acquire([op])).allowed).toBe(true);
    await own.kill();
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => store.acquire([op])));
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      const error = (o as PromiseRejectedResult).reason;
      expect(RelError.is(error) && error.failure).toEqual({ kind: 'dependency_unavailable', dependency: 'redis' });
      expect(error.cause).toBeInstanceOf(Error);
    }
    await store.close();
  });
});
