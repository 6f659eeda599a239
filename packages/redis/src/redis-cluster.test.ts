import { type LimitOp, MemoryStore, RelError, type StateStore } from '@rel/core';
import { FakeClock, storeConformanceCases } from '@rel/core/testing';
import fc from 'fast-check';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Cluster, type ClusterOptions, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store';
import { ACQUIRE_LUA, RATE_LUA, SETTLE_LUA } from './scripts';
import { LuaScript } from './lua-script';
import { monitorNodes } from './testing/monitor-nodes';
import { readyCluster } from './testing/ready-cluster';
import { type RedisClusterHandle, startRedisCluster } from './testing/redis-cluster';

let redis: RedisClusterHandle;
let cluster: Cluster;
let n = 0;
const fresh = () => `c${++n}:`;

/** The settings the README asks of a client passed to `RedisStore`: fail fast. */
const FAIL_FAST: ClusterOptions = {
  enableOfflineQueue: false,
  redisOptions: { commandTimeout: 1000, connectTimeout: 2000, maxRetriesPerRequest: 1 },
  clusterRetryStrategy: (times) => Math.min(50 * times, 500),
};

beforeAll(async () => {
  redis = await startRedisCluster();
  cluster = await readyCluster(redis.nodes, FAIL_FAST);
});
afterAll(async () => {
  cluster?.disconnect();
  await redis?.stop();
});

/** Hash tags whose slots the three masters own one each (asserted below, not assumed). */
const TAGS = ['a', 'b', 'c'] as const;

/** The port of the master that owns `key`'s slot, from the cluster's own answers. */
async function ownerOf(key: string): Promise<number> {
  const slot = Number(await cluster.cluster('KEYSLOT', key));
  const ranges = (await cluster.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  const range = ranges.find(([first, last]) => slot >= first && slot <= last);
  if (!range) throw new Error(`no node owns slot ${slot}`);
  return range[2][1];
}

/** The cluster temp dirs, and the processes started with one as their `--dir` (Linux `/proc`). */
async function leftovers(): Promise<{ dirs: string[]; processes: string[] }> {
  const dirs = (await readdir(tmpdir())).filter((d) => d.startsWith('rel-redis-cluster-')).sort();
  const processes: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('rel-redis-cluster-')) processes.push(pid);
  }
  return { dirs, processes: processes.sort() };
}

describe('startRedisCluster', () => {
  it('starts three masters that split the 16384 slots and agree on one map', async () => {
    expect(redis.nodes).toHaveLength(3);
    expect(cluster.nodes('master')).toHaveLength(3);
    const ranges = (await cluster.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    const sorted = ranges
      .map(([first, last, [, port]]) => [first, last, port])
      .sort((x, y) => Number(x[0]) - Number(y[0]));
    expect(sorted.map(([first, last]) => [first, last])).toEqual([
      [0, 5460],
      [5461, 10921],
      [10922, 16383],
    ]);
    expect(new Set(sorted.map(([, , port]) => port))).toEqual(new Set(redis.nodes.map((x) => x.port)));
  });

  it('a start that fails half-way (missing binary, or not healthy in time) rejects and leaves no process or temp dir', async () => {
    const before = await leftovers();
    await expect(startRedisCluster({ binary: '/nonexistent/redis-server' })).rejects.toThrow(/3-master cluster/);
    // A master declares its state ok only 2 s after it starts, so 300 ms always runs out.
    const late = await startRedisCluster({ startTimeoutMs: 300 }).catch((e: Error) => e);
    expect(late).toBeInstanceOf(Error);
    expect((late as Error).message).toMatch(/could not start a 3-master cluster/);
    expect(await leftovers()).toEqual(before);
  });

  it('stop() ends every node and a second stop() is harmless', async () => {
    const own = await startRedisCluster();
    const raw = new Redis(own.nodes[0]?.port as number, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
    expect(await raw.ping()).toBe('PONG');
    raw.disconnect();
    await own.stop();
    await own.stop();
    for (const { port } of own.nodes) {
      const probe = new Redis(port, '127.0.0.1', {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      probe.on('error', () => {});
      await expect(probe.connect()).rejects.toThrow();
      probe.disconnect();
    }
  });
});

/**
 * The store with every key put under one hash tag (`{tag}:key`), as callers build keys for a
 * Cluster, and the tag taken off the keys it reports back: the conformance suite's keys carry none.
 */
function underTag(store: StateStore, tag: string): StateStore {
  const k = (key: string) => `{${tag}}:${key}`;
  return {
    name: store.name,
    acquire: async (ops) => {
      const r = await store.acquire(ops.map((op) => ({ ...op, key: k(op.key) })));
      return { ...r, results: r.results.map((x, i) => ({ ...x, key: (ops[i] as LimitOp).key })) };
    },
    settle: (lease, entries, options) =>
      store.settle(
        lease,
        entries.map((e) => ({ ...e, key: k(e.key) })),
        options,
      ),
    total: (key, windowMs) => store.total(k(key), windowMs),
    get: (key) => store.get(k(key)),
    set: (key, value, ttlMs) => store.set(k(key), value, ttlMs),
    compareAndSet: (key, expected, value, ttlMs) => store.compareAndSet(k(key), expected, value, ttlMs),
    increment: (key, by, ttlMs) => store.increment(k(key), by, ttlMs),
    delete: (key) => store.delete(k(key)),
    close: () => store.close(),
  };
}

describe('RedisStore on a Cluster (keys under one hash tag per store, tags on every master) meets the StateStore conformance suite', () => {
  for (const c of storeConformanceCases({
    create: (clock) =>
      underTag(
        new RedisStore({ client: cluster, keyPrefix: fresh(), ...(clock ? { clock } : {}) }),
        TAGS[n % 3] as string,
      ),
  })) {
    it(c.name, c.run);
  }
});

describe('RedisStore on a real 3-master Redis Cluster', () => {
  it('spreads distinct hash tags over the masters: each tag lives on its own node', async () => {
    const prefix = fresh();
    const owners = await Promise.all(TAGS.map((t) => ownerOf(`${prefix}{${t}}:k`)));
    expect(new Set(owners).size).toBe(3);
    const store = new RedisStore({ client: cluster, keyPrefix: prefix });
    for (const t of TAGS) await store.set(`{${t}}:k`, t);
    // Each value sits on the node that owns its tag, and on no other.
    for (const [i, t] of TAGS.entries()) {
      for (const { port } of redis.nodes) {
        const node = new Redis(port, '127.0.0.1');
        const value = await node.call('GET', `${prefix}{${t}}:k`).catch((e: Error) => e.message.split(' ')[0]);
        expect(value).toBe(port === owners[i] ? t : 'MOVED');
        node.disconnect();
      }
    }
  });

  it('with batchAcquire off, runs a lone rate op on RATE_LUA and a rate + quota acquire on ACQUIRE_LUA, on the node owning their tag', async () => {
    const prefix = fresh();
    const names = new Map([
      [new LuaScript(RATE_LUA).sha, 'rate'],
      [new LuaScript(ACQUIRE_LUA).sha, 'acquire'],
      [new LuaScript(SETTLE_LUA).sha, 'settle'],
    ]);
    const seen: { port: number; script: string; key: string }[] = [];
    const monitor = await monitorNodes(redis.nodes, (port, args) => {
      if (String(args[0]).toLowerCase() !== 'evalsha') return;
      const key = String(args[3]);
      if (key.startsWith(prefix))
        seen.push({ port, script: names.get(String(args[1])) ?? '?', key: key.slice(prefix.length) });
    });
    const store = new RedisStore({ client: cluster, keyPrefix: prefix, batchAcquire: false });
    const lease = { id: 'L', ttlMs: 10_000 };
    await store.acquire([{ type: 'rate', key: '{a}:rpm', limit: 5, periodMs: 60_000, cost: 1 }]);
    await store.acquire([
      { type: 'rate', key: '{b}:rpm', limit: 5, periodMs: 60_000, cost: 1 },
      { type: 'quota', key: '{b}:usd', limit: 10, windowMs: 60_000, cost: 2, lease },
    ]);
    await store.settle('L', [{ key: '{b}:usd', windowMs: 60_000, amount: 1 }]);
    await store.acquire([{ type: 'quota', key: '{c}:tok', limit: 10, windowMs: 60_000, cost: 3 }]);
    // MONITOR reports a command once it has run; the replies are in, so its lines follow shortly.
    for (let i = 0; i < 200 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    await monitor.stop(0);
    const expected = [
      { script: 'rate', key: '{a}:rpm' },
      { script: 'acquire', key: '{b}:rpm' },
      { script: 'settle', key: '{b}:usd' },
      { script: 'acquire', key: '{c}:tok' },
    ];
    // Three MONITOR connections deliver in no order relative to each other: compare sorted by key.
    const byKey = (x: { key: string }, y: { key: string }) => x.key.localeCompare(y.key);
    expect(seen.map(({ script, key }) => ({ script, key })).sort(byKey)).toEqual(expected.sort(byKey));
    for (const s of seen) expect(s.port).toBe(await ownerOf(prefix + s.key));
  });

  it('with clusterNodes, opens its own Cluster client on first use: the calls issued at once wait for it, none fails; close() ends it', async () => {
    const prefix = fresh();
    const clusterNodes = redis.nodes.map((x) => `redis://${x.host}:${x.port}`);
    const store = new RedisStore({ clusterNodes: clusterNodes.slice(0, 1), keyPrefix: prefix });
    expect((store.client as Cluster).status).toBe('wait');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.acquire([{ type: 'rate', key: `{${TAGS[i % 3]}}:r`, limit: 3, periodMs: 60_000, cost: 1 }]),
      ),
    );
    expect(results.map((r) => r.allowed)).toEqual([...Array(9).fill(true), false, false, false]);
    // One seed was enough: the client found every master.
    expect((store.client as Cluster).nodes('master')).toHaveLength(3);
    await store.close();
    // QUIT has been answered; the client reports 'end' once its sockets have closed.
    for (let i = 0; i < 100 && store.client.status !== 'end'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(store.client.status).toBe('end');
  });

  it('refuses clusterNodes with url or client, or a URL that is not redis://, naming the field', () => {
    const seed = `redis://127.0.0.1:${redis.nodes[0]?.port}`;
    expect(() => new RedisStore({ clusterNodes: [seed], url: seed })).toThrow(
      /exactly one of `url`, `clusterNodes` or `client`/,
    );
    expect(() => new RedisStore({ clusterNodes: [seed], client: cluster })).toThrow(TypeError);
    const error = (() => {
      try {
        new RedisStore({ clusterNodes: [seed, 'http://127.0.0.1:1'] });
      } catch (e) {
        return e as { issues?: { path: unknown[] }[] };
      }
    })();
    expect(error?.issues?.[0]?.path).toEqual(['clusterNodes', 1]);
    expect(() => new RedisStore({ clusterNodes: [] })).toThrow(/clusterNodes/);
  });

  it('rejects (never hangs) an acquire or settle whose keys lack a shared hash tag: RelError internal, cause CROSSSLOT, nothing written', async () => {
    const prefix = fresh();
    const store = new RedisStore({ client: cluster, keyPrefix: prefix });
    const outcome = (p: Promise<unknown>) =>
      Promise.race([
        p.then(
          () => 'resolved',
          (e: unknown) =>
            RelError.is(e) && e.failure.kind === 'internal' && e.cause instanceof Error && e.cause.name === 'ReplyError'
              ? e.cause.message.split(' ')[0]
              : `not a RelError internal: ${String(e)}`,
        ),
        new Promise<string>((r) => setTimeout(() => r('hung'), 5000)),
      ]);
    const rate = (key: string): LimitOp => ({ type: 'rate', key, limit: 5, periodMs: 60_000, cost: 1 });
    const quota = (key: string): LimitOp => ({ type: 'quota', key, limit: 10, windowMs: 60_000, cost: 1 });
    expect(await outcome(store.acquire([rate('{a}:x'), quota('{b}:y')]))).toBe('CROSSSLOT');
    expect(await outcome(store.acquire([rate('org:x:rpm'), quota('org:x:usd')]))).toBe('CROSSSLOT');
    const entries = [
      { key: '{a}:x', windowMs: 60_000, amount: 1 },
      { key: '{b}:y', windowMs: 60_000, amount: 1 },
    ];
    expect(await outcome(store.settle('L', entries))).toBe('CROSSSLOT');
    // Nothing was consumed: the same keys, each alone, still see a fresh limit.
    expect((await store.acquire([rate('{a}:x')])).results[0]?.remaining).toBe(4);
    expect(await store.total('{b}:y', 60_000)).toBe(0);
  });

  it('an acquire or settle on a key of another type rejects with RelError internal naming the key, the key untouched', async () => {
    const prefix = fresh();
    const store = new RedisStore({ client: cluster, keyPrefix: prefix });
    const key = `${prefix}{b}:list`;
    await cluster.rpush(key, 'a');
    const calls = [
      store.acquire([{ type: 'rate', key: '{b}:list', limit: 5, periodMs: 60_000, cost: 1 }]),
      store.acquire([{ type: 'quota', key: '{b}:list', limit: 5, windowMs: 60_000, cost: 1 }]),
      store.settle('L', [{ key: '{b}:list', windowMs: 60_000, amount: 1 }]),
    ];
    for (const call of calls) {
      const error = await call.catch((e: unknown) => e);
      expect(RelError.is(error) && error.failure.kind).toBe('internal');
      expect((error as Error).message).toContain(`"${key}": WRONGTYPE`);
      expect(((error as Error).cause as Error).name).toBe('ReplyError');
    }
    expect(await cluster.lrange(key, 0, -1)).toEqual(['a']);
  });

  it('a Cluster client that is not connected makes every method reject with dependency_unavailable', async () => {
    const idle = new Cluster([...redis.nodes], { lazyConnect: true, enableOfflineQueue: false });
    const store = new RedisStore({ client: idle, keyPrefix: fresh() });
    const calls = [
      store.acquire([{ type: 'rate', key: '{a}:r', limit: 5, periodMs: 60_000, cost: 1 }]),
      store.settle('L', [{ key: '{a}:q', windowMs: 60_000, amount: 1 }]),
      store.total('{a}:q', 60_000),
      store.get('{a}:s'),
      store.set('{a}:s', 'v'),
      store.compareAndSet('{a}:s', undefined, 'v'),
      store.increment('{a}:n', 1, 60_000),
      store.delete('{a}:s'),
    ];
    for (const call of calls) {
      const error = await call.catch((e: unknown) => e);
      expect(RelError.is(error) && error.failure).toEqual({ kind: 'dependency_unavailable', dependency: 'redis' });
      expect((error as Error).cause).toBeInstanceOf(Error);
    }
    idle.disconnect();
  });
});

type Tag = (typeof TAGS)[number];
type Step =
  | { kind: 'acquire'; ops: LimitOp[] }
  | { kind: 'settle'; lease: string; key: string; windowMs: number; amount: number; retry: boolean }
  | { kind: 'total'; key: string; windowMs: number }
  | { kind: 'set'; key: string; value: string; ttlMs: number | undefined }
  | { kind: 'get'; key: string }
  | { kind: 'delete'; key: string }
  | { kind: 'cas'; key: string; expected: string | undefined; value: string; ttlMs: number | undefined }
  | { kind: 'increment'; key: string; by: number }
  | { kind: 'advance'; ms: number };

/**
 * As in scripts.test.ts, keys must never sit a few milliseconds from expiry on the fake clock,
 * because Redis expires them on its real one: time moves in whole seconds from a fractional start,
 * leases last 5 or 20 s, and key/value TTLs (10 min) outlast any run (at most 200 s of fake time).
 */
const START = 1_700_000_000_000.25;
const QUOTA_KEYS = ['q1', 'q2', 'q3'] as const;
const windowOf = (key: string) => [0, 7000, 60_000][QUOTA_KEYS.indexOf(key as (typeof QUOTA_KEYS)[number])] as number;
const TTL = 600_000;
const tag = fc.constantFrom(...TAGS);
const amount = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.double({ min: 0, max: 12, noNaN: true }));
const rateOp = (t: Tag) =>
  fc.record({
    type: fc.constant('rate' as const),
    key: fc.constantFrom(`{${t}}:r1`, `{${t}}:r2`),
    limit: fc.constantFrom(0, 3, 7),
    periodMs: fc.constantFrom(10_000, 60_000),
    cost: fc.constantFrom(0, 1, 2),
  });
// A lease id belongs to one tag and settles one key, so its settled marker is one key (as callers do).
const quotaOp = (t: Tag) =>
  fc
    .record({
      key: fc.constantFrom(...QUOTA_KEYS),
      limit: fc.constantFrom(0, 10, 100.5),
      cost: amount,
      lease: fc.option(fc.record({ id: fc.constantFrom(1, 2, 3), ttlMs: fc.constantFrom(5000, 20_000) }), {
        nil: undefined,
      }),
    })
    .map(({ key, limit, cost, lease }): LimitOp => {
      const l = lease ? { lease: { id: `${t}L${lease.id}`, ttlMs: lease.ttlMs } } : {};
      return { type: 'quota', key: `{${t}}:${key}`, limit, windowMs: windowOf(key), cost, ...l };
    });
const value = fc.constantFrom('x', 'y', 'z');
const ttl = fc.option(fc.constant(TTL), { nil: undefined });
const step: fc.Arbitrary<Step> = fc.oneof(
  // One tag per acquire (one slot); a lone rate op takes RATE_LUA, anything else ACQUIRE_LUA.
  tag.chain((t) =>
    fc.record({
      kind: fc.constant('acquire' as const),
      ops: fc.oneof(
        rateOp(t).map((op) => [op]),
        fc.uniqueArray(fc.oneof(rateOp(t), quotaOp(t)), { minLength: 1, maxLength: 4, selector: (op) => op.key }),
      ),
    }),
  ),
  fc
    .record({ t: tag, i: fc.constantFrom(1, 2, 3), amount, retry: fc.boolean() })
    .map(({ t, i, amount, retry }): Step => {
      const key = QUOTA_KEYS[i - 1] as string;
      return { kind: 'settle', lease: `${t}L${i}`, key: `{${t}}:${key}`, windowMs: windowOf(key), amount, retry };
    }),
  fc
    .record({ t: tag, key: fc.constantFrom(...QUOTA_KEYS) })
    .map(({ t, key }): Step => ({ kind: 'total', key: `{${t}}:${key}`, windowMs: windowOf(key) })),
  fc
    .record({ t: tag, value, ttlMs: ttl })
    .map(({ t, value, ttlMs }): Step => ({ kind: 'set', key: `{${t}}:s`, value, ttlMs })),
  fc
    .record({ t: tag, kind: fc.constantFrom('get' as const, 'delete' as const), key: fc.constantFrom('s', 'n') })
    .map(({ t, kind, key }): Step => ({ kind, key: `{${t}}:${key}` })),
  fc
    .record({ t: tag, expected: fc.option(value, { nil: undefined }), value, ttlMs: ttl })
    .map(({ t, ...rest }): Step => ({ kind: 'cas', key: `{${t}}:s`, ...rest })),
  fc
    .record({ t: tag, by: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.constantFrom(0.1, 0.25, 2.5)) })
    .map(({ t, by }): Step => ({ kind: 'increment', key: `{${t}}:n`, by })),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 8 }).map((s) => s * 1000) }),
);

describe('RedisStore on a Cluster against MemoryStore', () => {
  // Batched, each acquire of a step is a run of one on its node; unbatched, RATE_LUA or ACQUIRE_LUA.
  it.each([
    [true, 100],
    [false, 50],
  ])(
    'answers every acquire, settle, total and key/value call exactly as MemoryStore, with tags on all three masters (batchAcquire %s)',
    async (batchAcquire, numRuns) => {
      const counts = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
          const clock = new FakeClock(START);
          const memory = new MemoryStore({ clock });
          const store = new RedisStore({ client: cluster, keyPrefix: fresh(), clock, batchAcquire });
          for (const s of steps) {
            const kind = s.kind === 'acquire' && s.ops.length === 1 && s.ops[0]?.type === 'rate' ? 'lone rate' : s.kind;
            counts.set(kind, (counts.get(kind) ?? 0) + 1);
            if (s.kind === 'advance') await clock.advance(s.ms);
            else if (s.kind === 'acquire') expect(await store.acquire(s.ops)).toEqual(await memory.acquire(s.ops));
            else if (s.kind === 'total')
              expect(await store.total(s.key, s.windowMs)).toBe(await memory.total(s.key, s.windowMs));
            else if (s.kind === 'settle') {
              const e = [{ key: s.key, windowMs: s.windowMs, amount: s.amount }];
              const o = { retry: s.retry };
              expect(await store.settle(s.lease, e, o)).toEqual(await memory.settle(s.lease, e, o));
            } else if (s.kind === 'set') {
              await store.set(s.key, s.value, s.ttlMs);
              await memory.set(s.key, s.value, s.ttlMs);
            } else if (s.kind === 'get') expect(await store.get(s.key)).toBe(await memory.get(s.key));
            else if (s.kind === 'delete') {
              await store.delete(s.key);
              await memory.delete(s.key);
            } else if (s.kind === 'cas')
              expect(await store.compareAndSet(s.key, s.expected, s.value, s.ttlMs)).toBe(
                await memory.compareAndSet(s.key, s.expected, s.value, s.ttlMs),
              );
            else expect(await store.increment(s.key, s.by, TTL)).toBe(await memory.increment(s.key, s.by, TTL));
          }
          await store.close();
        }),
        { numRuns },
      );
      // The random runs reached every kind of call.
      for (const kind of ['lone rate', 'acquire', 'settle', 'total', 'set', 'get', 'delete', 'cas', 'increment'])
        expect(counts.get(kind) ?? 0, kind).toBeGreaterThan(5);
    },
  );
});
