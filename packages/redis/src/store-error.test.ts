import { type LimitOp, RelError } from '@rel/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store';
import { type RedisServerHandle, startRedisServer } from './testing/redis-server';

let server: RedisServerHandle;
let raw: Redis;
let n = 0;
const fresh = () => `e${++n}:`;

beforeAll(async () => {
  server = await startRedisServer();
  raw = new Redis(server.url);
});
afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

const rate = (key: string): LimitOp => ({ type: 'rate', key, limit: 5, periodMs: 60_000, cost: 1 });
const quota = (key: string): LimitOp => ({ type: 'quota', key, limit: 5, windowMs: 60_000, cost: 1 });

/** The error a call rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<RelError> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(RelError.is(outcome.error)).toBe(true);
  return outcome.error as RelError;
}

describe('RedisStore: a reply error of Redis rejects with RelError internal on every unbatched path', () => {
  // A list where each method expects its own type: the scripts raise WRONGTYPE on it. A script is
  // not rolled back, so each refuses before it writes anything: no other key appears.
  const cases: [string, (s: RedisStore) => Promise<unknown>][] = [
    ['acquire of one rate op (RATE_LUA)', (s) => s.acquire([rate('{w}:k')])],
    ['acquire of a quota op (ACQUIRE_LUA)', (s) => s.acquire([quota('{w}:k')])],
    // The earlier ops' keys would be written if the quota key were refused only at its own write.
    ['acquire of several ops (ACQUIRE_LUA)', (s) => s.acquire([rate('{w}:r'), quota('{w}:q'), quota('{w}:k')])],
    // Settle checks every key first: no marker and no earlier entry is written (see the next test).
    [
      'settle',
      (s) =>
        s.settle('L1', [
          { key: '{w}:first', windowMs: 60_000, amount: 3 },
          { key: '{w}:k', windowMs: 60_000, amount: 2 },
        ]),
    ],
  ];
  for (const [name, call] of cases) {
    it(`${name} on a key of another type: internal naming the call and key, cause the ReplyError, the key untouched`, async () => {
      const prefix = fresh();
      const store = new RedisStore({ url: server.url, keyPrefix: prefix, batchAcquire: false });
      await raw.rpush(`${prefix}{w}:k`, 'a', 'b');
      const error = await rejection(call(store));
      expect(error.failure).toEqual({ kind: 'internal', message: expect.stringContaining('WRONGTYPE') });
      const op = name.split(' ')[0];
      expect(error.message).toContain(`redis ${op} of `);
      expect(error.message).toContain(`"${prefix}{w}:k"`);
      expect((error.cause as Error).name).toBe('ReplyError');
      expect((error.cause as Error).message).toMatch(/^WRONGTYPE/);
      expect(await raw.lrange(`${prefix}{w}:k`, 0, -1)).toEqual(['a', 'b']);
      expect(await raw.keys(`${prefix}*`)).toEqual([`${prefix}{w}:k`]);
      await store.close();
    });
  }

  it('a settlement refused for a key of another type lands whole on its retry once the key is fixed, neither skipped nor counted twice', async () => {
    const prefix = fresh();
    const store = new RedisStore({ url: server.url, keyPrefix: prefix });
    const entries = [
      { key: '{s}:a', windowMs: 60_000, amount: 3 },
      { key: '{s}:b', windowMs: 60_000, amount: 2 },
    ];
    await raw.rpush(`${prefix}{s}:b`, 'x');
    await rejection(store.settle('L9', entries));
    await raw.del(`${prefix}{s}:b`);
    expect(await store.settle('L9', entries, { retry: true })).toEqual([3, 2]);
    expect(await store.settle('L9', entries, { retry: true })).toEqual([3, 2]);
    await store.close();
  });

  it('get still reads a key of another type as absent, as MemoryStore does', async () => {
    const prefix = fresh();
    const store = new RedisStore({ url: server.url, keyPrefix: prefix });
    await raw.rpush(`${prefix}k`, 'a');
    expect(await store.get('k')).toBeUndefined();
    await store.close();
  });

  it('set, compareAndSet, increment and settle refused for memory (OOM): internal with the cause, nothing written', async () => {
    const own = await startRedisServer();
    const prefix = fresh();
    const store = new RedisStore({ url: own.url, keyPrefix: prefix });
    const admin = new Redis(own.url);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    const calls: [string, string, () => Promise<unknown>][] = [
      ['set', 's', () => store.set('s', 'v')],
      ['compareAndSet', 'c', () => store.compareAndSet('c', undefined, 'v')],
      ['increment', 'i', () => store.increment('i', 1, 60_000)],
      ['settle', '{q}:u', () => store.settle('L', [{ key: '{q}:u', windowMs: 60_000, amount: 1 }])],
    ];
    for (const [op, key, call] of calls) {
      const error = await rejection(call());
      expect(error.failure.kind).toBe('internal');
      expect(error.message).toContain(`redis ${op} of "${prefix}${key}": OOM`);
      expect((error.cause as Error).name).toBe('ReplyError');
    }
    await admin.config('SET', 'maxmemory', '0');
    expect(await admin.keys(`${prefix}*`)).toEqual([]);
    admin.disconnect();
    await store.close();
    await own.stop();
  });
});

describe('RedisStore: a Redis it cannot reach rejects every method with RelError dependency_unavailable', () => {
  /** Every method of the store, each on its own key. */
  const calls: [string, string, (s: RedisStore) => Promise<unknown>][] = [
    ['acquire', 'a', (s) => s.acquire([rate('a')])],
    ['acquire', 'b', (s) => s.acquire([rate('b'), quota('c')])],
    ['settle', 'd', (s) => s.settle('L', [{ key: 'd', windowMs: 60_000, amount: 1 }])],
    ['total', 'e', (s) => s.total('e', 60_000)],
    ['get', 'f', (s) => s.get('f')],
    ['set', 'g', (s) => s.set('g', 'v')],
    ['compareAndSet', 'h', (s) => s.compareAndSet('h', undefined, 'v')],
    ['increment', 'i', (s) => s.increment('i', 1, 60_000)],
    ['delete', 'j', (s) => s.delete('j')],
  ];
  async function expectUnavailable(store: RedisStore, prefix: string): Promise<void> {
    for (const [op, key, call] of calls) {
      const error = await rejection(call(store));
      expect(error.failure).toEqual({ kind: 'dependency_unavailable', dependency: 'redis' });
      expect(error.message).toContain(`redis ${op}`);
      expect(error.message).toContain(`"${prefix}${key}"`);
      expect(error.cause).toBeInstanceOf(Error);
      expect((error.cause as Error).name).not.toBe('ReplyError');
    }
  }

  for (const batchAcquire of [false, true]) {
    it(`a store whose URL points at a closed port (batchAcquire: ${batchAcquire})`, async () => {
      const gone = await startRedisServer();
      await gone.stop();
      const prefix = fresh();
      const store = new RedisStore({
        url: gone.url,
        keyPrefix: prefix,
        batchAcquire,
        connectTimeoutMs: 200,
        commandTimeoutMs: 200,
      });
      await expectUnavailable(store, prefix);
      await store.close();
    });
  }

  it('a client passed in that was disconnected (maxRetriesPerRequest 0): its error as cause and in the message', async () => {
    const client = new Redis(server.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 200,
    });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    const prefix = fresh();
    const store = new RedisStore({ client, keyPrefix: prefix, batchAcquire: false });
    await expectUnavailable(store, prefix);
    const error = await rejection(store.total('x', 1000));
    expect(error.message).toBe(`redis total of "${prefix}x": ${(error.cause as Error).message}`);
  });

  it('a command Redis does not answer in commandTimeoutMs (clients paused): cause "Command timed out"', async () => {
    const prefix = fresh();
    const store = new RedisStore({ url: server.url, keyPrefix: prefix, batchAcquire: false, commandTimeoutMs: 50 });
    expect(await store.total('t', 1000)).toBe(0);
    await raw.call('CLIENT', 'PAUSE', '300', 'ALL');
    const error = await rejection(store.settle('L', [{ key: 't', windowMs: 60_000, amount: 1 }]));
    expect(error.failure).toEqual({ kind: 'dependency_unavailable', dependency: 'redis' });
    expect(error.message).toContain(`redis settle of "${prefix}t": Command timed out`);
    expect((error.cause as Error).message).toMatch(/Command timed out/);
    await raw.call('CLIENT', 'UNPAUSE');
    await store.close();
  });
});
