import { type AcquireResult, type LimitOp, RelError } from '@rel/core';
import type { Cluster, ClusterOptions } from 'ioredis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterAcquireBatcher } from './cluster-acquire-batcher';
import { LuaScript } from './lua-script';
import { ACQUIRE_BATCH_CLUSTER_LUA } from './scripts';
import { RedisStore } from './redis-store';
import { type RedisClusterHandle, startRedisCluster } from './testing/redis-cluster';
import { monitorNodes } from './testing/monitor-nodes';
import { readyCluster } from './testing/ready-cluster';
import { type ScriptRun, scriptRuns } from './testing/script-runs';

// Its own cluster: the slot-move tests change the slot map.
let redis: RedisClusterHandle;
let cluster: Cluster;
let n = 0;
const fresh = () => `cb${++n}:`;

/** A client that fails fast, as the README asks of one passed to `RedisStore`. */
const connect = (options: ClusterOptions = {}) =>
  readyCluster(redis.nodes, {
    enableOfflineQueue: false,
    redisOptions: { commandTimeout: 2000, connectTimeout: 2000, maxRetriesPerRequest: 1 },
    ...options,
  });

beforeAll(async () => {
  redis = await startRedisCluster();
  cluster = await connect();
});
afterAll(async () => {
  cluster?.disconnect();
  await redis?.stop();
});

const rate = (key: string, limit = 5): LimitOp => ({ type: 'rate', key, limit, periodMs: 60_000, cost: 1 });

/** A direct connection to each master, by port. */
async function withNodes<T>(body: (nodes: Map<number, Redis>) => Promise<T>): Promise<T> {
  const nodes = new Map(redis.nodes.map(({ port }) => [port, new Redis(port, '127.0.0.1')] as const));
  try {
    return await body(nodes);
  } finally {
    for (const node of nodes.values()) node.disconnect();
  }
}

/** The port of the master that serves `slot`, from the cluster's own `CLUSTER SLOTS`. */
async function ownerOfSlot(slot: number): Promise<number> {
  const ranges = (await cluster.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  const range = ranges.find(([first, last]) => slot >= first && slot <= last);
  if (!range) throw new Error(`no node owns slot ${slot}`);
  return range[2][1];
}

const slotOf = async (key: string) => Number(await cluster.cluster('KEYSLOT', key));

/** `count` keys `${base}N` (no hash tag) on the master at `port`, each in a slot of its own. */
async function keysOn(port: number, prefix: string, base: string, count: number): Promise<string[]> {
  const keys: string[] = [];
  const slots = new Set<number>();
  for (let i = 0; keys.length < count; i++) {
    const slot = await slotOf(`${prefix}${base}${i}`);
    if (!slots.has(slot) && (await ownerOfSlot(slot)) === port) {
      slots.add(slot);
      keys.push(`${base}${i}`);
    }
  }
  return keys;
}

/**
 * Every decision the masters ran while `body` ran, by the port that ran it (MONITOR). EVALSHA runs
 * of `batchScript` (a variant of the cluster batch script) are read as runs of the batch script.
 */
async function monitored(
  prefix: string,
  body: () => Promise<void>,
  batchScript?: LuaScript,
): Promise<Map<number, ScriptRun[][]>> {
  const seen = new Map<number, ScriptRun[][]>();
  const batchSha = new LuaScript(ACQUIRE_BATCH_CLUSTER_LUA).sha;
  const monitor = await monitorNodes(redis.nodes, (port, args) => {
    const read = batchScript && args[1] === batchScript.sha ? [args[0] as string, batchSha, ...args.slice(2)] : args;
    const runs = scriptRuns(read, prefix);
    if (runs.length > 0) seen.set(port, [...(seen.get(port) ?? []), runs]);
  });
  await body();
  await monitor.stop();
  return seen;
}

/**
 * Moves `slot` (and its keys) from the master at `from` to the one at `to`, as a resharding does
 * (IMPORTING, MIGRATING, MIGRATE, then `SETSLOT NODE` on every master). The client is not told: its
 * slot map still names `from` until a MOVED reply.
 */
async function moveSlot(slot: number, from: number, to: number): Promise<void> {
  await withNodes(async (nodes) => {
    const src = nodes.get(from) as Redis;
    const dst = nodes.get(to) as Redis;
    const srcId = String(await src.cluster('MYID'));
    const dstId = String(await dst.cluster('MYID'));
    await dst.cluster('SETSLOT', slot, 'IMPORTING', srcId);
    await src.cluster('SETSLOT', slot, 'MIGRATING', dstId);
    const keys = (await src.cluster('GETKEYSINSLOT', slot, 1000)) as string[];
    if (keys.length > 0) await src.call('MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...keys);
    for (const node of [dst, src, ...[...nodes.values()].filter((x) => x !== src && x !== dst)]) {
      await node.cluster('SETSLOT', slot, 'NODE', dstId);
    }
  });
}

describe('RedisStore on a Cluster batches acquires per master node', () => {
  it('sends one turn of acquires as one script run per master, each decision on the node that owns its key', async () => {
    const prefix = fresh();
    const store = new RedisStore({ client: cluster, keyPrefix: prefix });
    const ports = redis.nodes.map((x) => x.port);
    const keys = (await Promise.all(ports.map((port) => keysOn(port, prefix, `u${port}:`, 4)))).flat();
    // Load the script on every node first, so each run is one EVALSHA (a node's first is EVALSHA, NOSCRIPT, EVAL).
    const warm = (await Promise.all(ports.map((port) => keysOn(port, prefix, `w${port}:`, 1)))).flat();
    await Promise.all(warm.map((key) => store.acquire([rate(key)])));
    let results: AcquireResult[] = [];
    const seen = await monitored(prefix, async () => {
      results = await Promise.all([...keys, ...keys].map((key) => store.acquire([rate(key)])));
    });
    // Each key's first decision leaves 4, its second 3: both made, in call order, once.
    expect(results.map((r) => r.results[0]?.remaining)).toEqual([...keys.map(() => 4), ...keys.map(() => 3)]);
    expect(results.every((r) => r.allowed)).toBe(true);
    for (const port of ports) {
      const runs = seen.get(port) ?? [];
      // One run per master, carrying both decisions of each of its 4 keys, and no other key.
      expect(runs).toHaveLength(1);
      const decided = (runs[0] as ScriptRun[]).map((r) => (r.type === 'acquire' ? r.ops[0]?.key : r.type));
      const own = keys.filter((k) => k.startsWith(`u${port}:`));
      expect(decided).toEqual([...own, ...own]);
    }
  });

  it('admits exactly the limit under 150 concurrent decisions over keys on every master, each remaining once', async () => {
    const store = new RedisStore({ client: cluster, keyPrefix: fresh() });
    const keys = ['{a}:rpm', '{b}:rpm', '{c}:rpm'];
    const results = await Promise.all(
      Array.from({ length: 150 }, (_, i) => store.acquire([rate(keys[i % 3] as string, 20)])),
    );
    for (const [k, key] of keys.entries()) {
      const mine = results.filter((_, i) => i % 3 === k);
      expect(mine.every((r) => r.results[0]?.key === key)).toBe(true);
      expect(mine.filter((r) => r.allowed)).toHaveLength(20);
      const remaining = mine.filter((r) => r.allowed).map((r) => r.results[0]?.remaining);
      expect(remaining.sort((x, y) => (y as number) - (x as number))).toEqual(
        Array.from({ length: 20 }, (_, i) => 19 - i),
      );
      expect(mine.slice(20).every((r) => !r.allowed && (r.results[0]?.retryAfterMs as number) > 0)).toBe(true);
    }
  });

  it("adds the Cluster client's own keyPrefix to every key a run carries, as ioredis does to declared keys", async () => {
    const prefixed = await connect({ keyPrefix: 'kp:' });
    try {
      const prefix = fresh();
      const store = new RedisStore({ client: prefixed, keyPrefix: prefix });
      const keys = ['{a}:x', '{b}:x', '{c}:x', '{a}:y'];
      const results = await Promise.all(keys.map((key) => store.acquire([rate(key)])));
      expect(results.map((r) => r.results[0]?.remaining)).toEqual([4, 4, 4, 4]);
      for (const key of keys) {
        expect(await cluster.exists(`kp:${prefix}${key}`)).toBe(1);
        expect(await cluster.exists(`${prefix}${key}`)).toBe(0);
      }
    } finally {
      prefixed.disconnect();
    }
  });

  // The run goes to the node of its first decision's key: moved in one case, still in place in the other.
  for (const movedFirst of [false, true]) {
    it(`a decision whose slot moved after the client read the slot map is made where the slot now lives, its state kept (moved key ${movedFirst ? 'first' : 'second'} in the run)`, async () => {
      const client = await connect();
      try {
        const prefix = fresh();
        const store = new RedisStore({ client, keyPrefix: prefix });
        const [from, to] = redis.nodes.map((x) => x.port) as [number, number];
        const [stays, moves] = (await keysOn(from, prefix, `m${movedFirst}:`, 2)) as [string, string];
        await store.acquire([rate(stays)]);
        await store.acquire([rate(moves)]);
        await moveSlot(await slotOf(prefix + moves), from, to);
        const order = movedFirst ? [moves, stays] : [stays, moves];
        const results = await Promise.all(order.map((key) => store.acquire([rate(key)])));
        // Both second decisions: 5 - 2 left, the moved key's first decision carried over with its slot.
        expect(results.map((r) => [r.allowed, r.results[0]?.remaining])).toEqual([
          [true, 3],
          [true, 3],
        ]);
        await withNodes(async (nodes) => {
          expect(await (nodes.get(to) as Redis).exists(prefix + moves)).toBe(1);
          expect(await (nodes.get(from) as Redis).exists(prefix + stays)).toBe(1);
        });
        // A third decision on each: made once more, nothing counted twice.
        const third = await Promise.all(order.map((key) => store.acquire([rate(key)])));
        expect(third.map((r) => r.results[0]?.remaining)).toEqual([2, 2]);
      } finally {
        client.disconnect();
      }
    });
  }

  it('a server that cannot run the batch script turns batching off: each decision is then made alone, typed errors kept', async () => {
    const prefix = fresh();
    const single = new RedisStore({ client: cluster, keyPrefix: prefix, batchAcquire: false });
    // A shebang Redis rejects when it loads the script, as a server before Redis 7 rejects any shebang.
    const refused = new LuaScript('#!lua flags=no-such-flag\nreturn {}');
    const batcher = new ClusterAcquireBatcher(cluster, prefix, 32, (ops) => single.acquire(ops), refused);
    expect(batcher.batching).toBe(true);
    const first = await Promise.all(['{a}:r', '{b}:r', '{a}:s'].map((key) => batcher.acquire([rate(key)], '')));
    expect(first.map((r) => r.results[0]?.remaining)).toEqual([4, 4, 4]);
    expect(batcher.batching).toBe(false);
    const second = await Promise.all(['{a}:r', '{c}:r'].map((key) => batcher.acquire([rate(key)], '')));
    expect(second.map((r) => r.results[0]?.remaining)).toEqual([3, 4]);
    // A decision's own error still reaches its caller alone: a key of another type.
    await cluster.rpush(`${prefix}{a}:list`, 'x');
    const error = await batcher.acquire([rate('{a}:list')], '').catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure.kind).toBe('internal');
  });
});

/** Polls every master until each reports `cluster_state:<state>` (a DELSLOTS or ADDSLOTS shows within a tick). */
async function clusterState(state: 'ok' | 'fail'): Promise<void> {
  await withNodes(async (nodes) => {
    let seen: (string | undefined)[] = [];
    for (let i = 0; i < 200; i++) {
      seen = await Promise.all(
        [...nodes.values()].map(async (node) => /cluster_state:(\w+)/.exec(String(await node.cluster('INFO')))?.[1]),
      );
      if (seen.every((s) => s === state)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`the masters report cluster_state ${seen.join(', ')}, not ${state}`);
  });
}

/** Takes `slot` from every master (no node serves it), runs `body`, then gives it back to its owner, however `body` ended. */
async function withoutSlot(slot: number, body: () => Promise<void>): Promise<void> {
  const owner = await ownerOfSlot(slot);
  await withNodes(async (nodes) => {
    const ownerNode = nodes.get(owner) as Redis;
    const ownerId = String(await ownerNode.cluster('MYID'));
    for (const node of nodes.values()) await node.cluster('DELSLOTS', slot);
    try {
      await body();
    } finally {
      await ownerNode.cluster('ADDSLOTS', slot);
      for (const [port, node] of nodes) if (port !== owner) await node.cluster('SETSLOT', slot, 'NODE', ownerId);
    }
  });
  await clusterState('ok');
}

/** Sets `cluster-require-full-coverage` on every master. */
const fullCoverage = (on: boolean) =>
  withNodes(async (nodes) => {
    for (const node of nodes.values()) await node.config('SET', 'cluster-require-full-coverage', on ? 'yes' : 'no');
  });

/** What a caller can tell of a call: its result, or its failure, message (the batch size left out) and cause. */
async function settled(call: Promise<AcquireResult>) {
  try {
    return { resolved: await call };
  } catch (error) {
    if (!RelError.is(error)) return { untyped: String(error) };
    const { cause } = error;
    return {
      failure: error.failure,
      message: error.message.replace(/ \(one of a batch of \d+\)/, ''),
      cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
    };
  }
}

const UNAVAILABLE = { kind: 'dependency_unavailable', dependency: 'redis' };

describe('RedisStore on a Cluster that cannot serve a key rejects a batched acquire as it rejects an unbatched one', () => {
  // ioredis either hands CLUSTERDOWN on at once (the run is refused whole, then each decision is made
  // alone) or retries it and then gives up with an error of its own (every caller of the run rejects).
  const clients: Record<string, ClusterOptions> = {
    'a client that hands CLUSTERDOWN on': { retryDelayOnClusterDown: 0 },
    'a client that retries CLUSTERDOWN, then gives up': { retryDelayOnClusterDown: 20, maxRedirections: 3 },
  };

  it('a cluster that is down (a slot no node serves, cluster-require-full-coverage yes): batched and unbatched reject alike, dependency_unavailable with the cause; once it is up, each key counts only the decisions made', async () => {
    const prefix = fresh();
    const keys = ['{a}:d', '{a}:e', '{b}:d', '{c}:d'];
    const down = await slotOf(`${prefix}{down}`);
    expect(await Promise.all(keys.map((key) => slotOf(prefix + key)))).not.toContain(down);
    const stores = await Promise.all(
      Object.entries(clients).map(async ([name, options]) => {
        const client = await connect(options);
        client.on('error', () => {});
        const batched = new RedisStore({ client, keyPrefix: prefix });
        return { name, client, batched, single: new RedisStore({ client, keyPrefix: prefix, batchAcquire: false }) };
      }),
    );
    const [{ batched, single }] = stores as [(typeof stores)[number]];
    try {
      const before = await Promise.all(keys.map((key) => batched.acquire([rate(key)])));
      expect(before.map((r) => r.results[0]?.remaining)).toEqual([4, 4, 4, 4]);
      await withoutSlot(down, async () => {
        await clusterState('fail');
        for (const s of stores) {
          const batchedOutcomes = await Promise.all(keys.map((key) => settled(s.batched.acquire([rate(key)]))));
          const singleOutcomes = await Promise.all(keys.map((key) => settled(s.single.acquire([rate(key)]))));
          expect(batchedOutcomes, s.name).toEqual(singleOutcomes);
          for (const [i, key] of keys.entries()) {
            expect(singleOutcomes[i], s.name).toMatchObject({
              failure: UNAVAILABLE,
              message: expect.stringMatching(
                new RegExp(`^redis acquire of "${prefix}${key}": .*CLUSTERDOWN The cluster is down$`),
              ),
              cause: expect.stringMatching(/CLUSTERDOWN The cluster is down$/),
            });
          }
        }
        // With the retrying client, {a}'s two decisions went as one run, which failed whole once ioredis gave up.
        const run = await Promise.all(
          ['{a}:d', '{a}:e'].map((key) => stores[1]?.batched.acquire([rate(key)]).catch((e: unknown) => e)),
        );
        for (const error of run) expect(String(error)).toMatch(/one of a batch of 2.*Too many Cluster redirections/);
      });
      // Up again: one decision more than before the outage on each key, none of the refused ones.
      const after = await Promise.all(keys.map((key) => batched.acquire([rate(key)])));
      expect(after.map((r) => [r.allowed, r.results[0]?.remaining])).toEqual(keys.map(() => [true, 3]));
      const alone = await Promise.all(keys.map((key) => single.acquire([rate(key)])));
      expect(alone.map((r) => r.results[0]?.remaining)).toEqual([2, 2, 2, 2]);
    } finally {
      for (const s of stores) s.client.disconnect();
    }
  });

  // Redis 7.4 (redis/redis#12707) words a script's call on a slot no node serves "a slot not served",
  // where 7.0 and 7.2 say "non local key". The second case emulates the newer server on this one: the
  // batch script rewords that refusal in its reply, as 7.4 sends it.
  const end = ACQUIRE_BATCH_CLUSTER_LUA.lastIndexOf('return out');
  const wordings: Record<string, string> = {
    'as this server words it': ACQUIRE_BATCH_CLUSTER_LUA,
    'as Redis 7.4 and later word it': `${ACQUIRE_BATCH_CLUSTER_LUA.slice(0, end)}for i = 1, #out do
  if type(out[i]) == 'string' then out[i] = (out[i]:gsub('a non local key in a cluster node', 'a slot not served')) end
end
${ACQUIRE_BATCH_CLUSTER_LUA.slice(end)}`,
  };
  for (const [wording, lua] of Object.entries(wordings)) {
    it(`a decision whose slot no node serves (cluster-require-full-coverage no) fails in its run and rejects dependency_unavailable as unbatched, the run's other decision made once (the refusal ${wording})`, async () => {
      const client = await connect({ retryDelayOnClusterDown: 0 });
      client.on('error', () => {});
      try {
        const prefix = fresh();
        const single = new RedisStore({ client, keyPrefix: prefix, batchAcquire: false });
        const script = new LuaScript(lua);
        const batcher = new ClusterAcquireBatcher(client, prefix, 32, (ops) => single.acquire(ops), script);
        const port = (redis.nodes[2] as { port: number }).port;
        const [served, unserved] = (await keysOn(port, prefix, 'n', 2)) as [string, string];
        const before = await Promise.all([served, unserved].map((key) => batcher.acquire([rate(key)], '')));
        expect(before.map((r) => r.results[0]?.remaining)).toEqual([4, 4]);
        await fullCoverage(false);
        try {
          await withoutSlot(await slotOf(prefix + unserved), async () => {
            await clusterState('ok');
            // The run's reply for that decision, as the node words it (a run of it alone, on the node of the served key).
            const reply = await script.run(client, 1, [prefix + served, 1, prefix + unserved, 1, 'r,5,60000,,1,,']);
            expect(reply).toEqual([
              `ERR Script attempted to access ${wording.includes('7.4') ? 'a slot not served' : 'a non local key in a cluster node'}`,
            ]);
            let turn: Awaited<ReturnType<typeof settled>>[] = [];
            const seen = await monitored(
              prefix,
              async () => {
                turn = await Promise.all([served, unserved].map((key) => settled(batcher.acquire([rate(key)], ''))));
              },
              script,
            );
            // One run on the node carried both decisions (the client's slot map still names it).
            const run = (seen.get(port) ?? [])[0] ?? [];
            expect(run.map((r) => (r.type === 'acquire' ? r.ops[0]?.key : r.type))).toEqual([served, unserved]);
            expect(turn[0]).toMatchObject({ resolved: { allowed: true, results: [{ key: served, remaining: 3 }] } });
            const alone = await settled(single.acquire([rate(unserved)]));
            expect(turn[1]).toEqual(alone);
            expect(alone).toEqual({
              failure: UNAVAILABLE,
              message: `redis acquire of "${prefix}${unserved}": CLUSTERDOWN Hash slot not served`,
              cause: 'ReplyError: CLUSTERDOWN Hash slot not served',
            });
          });
        } finally {
          await fullCoverage(true);
        }
        // Served again: the served key counts both its decisions, the other only the one before.
        const after = await Promise.all([served, unserved].map((key) => batcher.acquire([rate(key)], '')));
        expect(after.map((r) => r.results[0]?.remaining)).toEqual([2, 3]);
      } finally {
        client.disconnect();
      }
    });
  }
});
