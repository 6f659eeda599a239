import { RelError } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { type Cluster, type ClusterOptions, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store';
import { readyCluster } from './testing/ready-cluster';
import { type RedisClusterHandle, type RedisClusterNode, startRedisCluster } from './testing/redis-cluster';

/** The client settings the README recommends for a store on a Cluster that fails over. */
const CLIENT: ClusterOptions = {
  enableOfflineQueue: false,
  scaleReads: 'master',
  // A command whose connection closed may have run (a master killed before it replied): never resend it.
  retryDelayOnFailover: 0,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  maxRedirections: 16,
  clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
  redisOptions: { commandTimeout: 500, connectTimeout: 1000, maxRetriesPerRequest: 1 },
};

let redis: RedisClusterHandle;
let cluster: Cluster;
beforeAll(async () => {
  redis = await startRedisCluster({ replicas: 1 });
  cluster = await readyCluster(redis.nodes, CLIENT);
  // A lost node is reported here too; every command that needed it rejects on its own.
  cluster.on('error', () => {});
});
afterAll(async () => {
  cluster?.disconnect();
  await redis?.stop();
});

/**
 * A rate of one unit per 10 s (GCRA's emission interval, exact in floating point) on a fake clock
 * that stands still: `remaining` counts the units spent, and the key's TTL (10 s per unit spent,
 * on Redis' real clock) outlasts the test.
 */
const LIMIT = 100_000;
const PERIOD = LIMIT * 10_000;
const WINDOW = 60_000;
/** Only a hang reaches this: the client's own timeouts and redirection limit end every call well before. */
const HANG_MS = 10_000;

type Outcome = 'ok' | 'unavailable' | 'hung' | string;
type Log = {
  acquires: Outcome[];
  settles: { lease: string; amount: number; outcome: Outcome }[];
  /** When each typed rejection came (ms since the epoch). */
  rejectedAt: number[];
};

/** What became of one call: resolved, rejected typed (`dependency_unavailable`, redis, with a cause), hung, or anything else (named). */
async function outcome(call: Promise<unknown>, log: Log): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<Outcome>((r) => {
    timer = setTimeout(() => r('hung'), HANG_MS);
  });
  const ended = call.then(
    (): Outcome => 'ok',
    (e: unknown): Outcome => {
      if (
        RelError.is(e) &&
        e.failure.kind === 'dependency_unavailable' &&
        e.failure.dependency === 'redis' &&
        e.cause instanceof Error
      ) {
        log.rejectedAt.push(Date.now());
        return 'unavailable';
      }
      return `untyped: ${String(e)}`;
    },
  );
  try {
    return await Promise.race([ended, hung]);
  } finally {
    clearTimeout(timer);
  }
}

const rateOp = (tag: string) =>
  ({ type: 'rate', key: `{${tag}}:rpm`, limit: LIMIT, periodMs: PERIOD, cost: 1 }) as const;

/**
 * Runs `workers` loops of (acquire one unit of a rate limit, settle a fresh lease with a distinct
 * whole amount) under one hash tag until stopped, and records every call's outcome.
 */
function traffic(store: RedisStore, tag: string, workers: number, leasePrefix = 'w') {
  const log: Log = { acquires: [], settles: [], rejectedAt: [] };
  let stop = false;
  let amount = 0;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      // A call refused at once rejects in a microtask: yield (a little longer after a failure, as a
      // caller backing off would), or the loops starve every timer.
      const failed = log.acquires.length > 0 && log.acquires.at(-1) !== 'ok';
      await new Promise((r) => (failed ? setTimeout(r, 5) : setImmediate(r)));
      log.acquires.push(await outcome(store.acquire([rateOp(tag)]), log));
      const lease = `${leasePrefix}${w}n${i}`;
      const a = ++amount;
      const settled = await outcome(store.settle(lease, [{ key: `{${tag}}:usd`, windowMs: WINDOW, amount: a }]), log);
      log.settles.push({ lease, amount: a, outcome: settled });
    }
  };
  const running = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return {
    log,
    /** Resolves once `n` more acquires have succeeded (rejects after 8 s without). */
    succeeded: async (n: number) => {
      const oks = () => log.acquires.filter((o) => o === 'ok').length;
      const target = oks() + n;
      const deadline = Date.now() + 8000;
      while (oks() < target) {
        if (Date.now() > deadline) throw new Error(`no ${n} more successful acquires within 8 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    /** Stops the loops and resolves once every call in flight has ended. */
    stop: async () => {
      stop = true;
      await running;
    },
  };
}

/** The shard (index into `redis.nodes`) whose slot range holds `key`. */
async function shardOf(key: string): Promise<number> {
  const slot = Number(await cluster.cluster('KEYSLOT', key));
  const m = redis.nodes.length;
  for (let i = 0; i < m; i++) if (slot < Math.floor(((i + 1) * 16_384) / m)) return i;
  throw new Error(`slot ${slot} out of range`);
}

/** The master and replica ports `CLUSTER SLOTS` lists for the range holding `key`. */
async function servedBy(key: string): Promise<number[]> {
  const slot = Number(await cluster.cluster('KEYSLOT', key));
  const ranges = (await cluster.cluster('SLOTS')) as unknown as [number, number, ...[string, number][]][];
  const range = ranges.find(([first, last]) => slot >= first && slot <= last);
  return ((range?.slice(2) ?? []) as [string, number][]).map(([, port]) => port);
}

/**
 * Checks what the store left behind, read through `store` and straight from `master`: every call
 * resolved or rejected typed; the rate limit spent at least `mustKeep.units` and at most one unit
 * per acquire that did not fail typed... (acknowledged + unknown outcomes: never a unit twice);
 * every lease in `mustKeep.leases` is settled; and the settled total is exactly the sum of the
 * settlements whose marker exists (none applied twice, none in part).
 */
async function checkState(
  store: RedisStore,
  prefix: string,
  tag: string,
  log: Log,
  master: RedisClusterNode,
  mustKeep: { units: number; leases: readonly string[] },
) {
  const outcomes = [...log.acquires, ...log.settles.map((s) => s.outcome)];
  expect(outcomes.filter((o) => o !== 'ok' && o !== 'unavailable')).toEqual([]);
  const node = new Redis(master.port, master.host);
  try {
    const r = await store.acquire([rateOp(tag)]);
    const spent = LIMIT - (r.results[0]?.remaining ?? 0) - 1;
    const acked = log.acquires.filter((o) => o === 'ok').length;
    const unknown = log.acquires.filter((o) => o === 'unavailable').length;
    expect(spent).toBeGreaterThanOrEqual(mustKeep.units);
    expect(spent).toBeLessThanOrEqual(acked + unknown);
    const marked = await Promise.all(
      log.settles.map(async (s) => (await node.exists(`${prefix}{${tag}}:usd:settled:${s.lease}`)) === 1),
    );
    const kept = new Set(log.settles.filter((_, i) => marked[i]).map((s) => s.lease));
    expect(mustKeep.leases.filter((l) => !kept.has(l))).toEqual([]);
    const expected = log.settles.reduce((sum, s, i) => sum + (marked[i] ? s.amount : 0), 0);
    expect(await store.total(`{${tag}}:usd`, WINDOW)).toBe(expected);
    return { spent, acked, unknown };
  } finally {
    node.disconnect();
  }
}

describe('startRedisCluster({ replicas: 1 })', () => {
  it('gives every master a replica with its link up, listed in the slot map, and failover() swaps them', async () => {
    expect(redis.nodes).toHaveLength(3);
    expect(redis.replicas).toHaveLength(3);
    for (const [i, r] of redis.replicas.entries()) {
      const node = new Redis(r.port, r.host);
      const info = await node.info('replication');
      node.disconnect();
      expect(info).toContain('role:slave');
      expect(info).toContain('master_link_status:up');
      expect(info).toContain(`master_port:${redis.nodes[i]?.port}`);
    }
    const key = 'swap:{a}';
    const shard = await shardOf(key);
    const master = redis.nodes[shard] as RedisClusterNode;
    const replica = redis.replicas[shard] as RedisClusterNode;
    expect(await servedBy(key)).toEqual([master.port, replica.port]);
    expect(await redis.failover(shard)).toEqual(replica);
    expect(redis.masterOf(shard)).toEqual(replica);
    expect(await servedBy(key)).toEqual([replica.port, master.port]);
    expect(await redis.failover(shard, { force: true })).toEqual(master);
    expect(await servedBy(key)).toEqual([master.port, replica.port]);
  });
});

describe('RedisStore on a Redis Cluster with replicas, through a failover', () => {
  it('a manual failover of the master owning a tag: every call resolves or rejects typed, the store goes on deciding on the new master, nothing acknowledged lost or doubled', async () => {
    const [prefix, tag] = ['fo1:', 'b'];
    const shard = await shardOf(`${prefix}{${tag}}:rpm`);
    const store = new RedisStore({ client: cluster, keyPrefix: prefix, clock: new FakeClock() });
    const before = redis.masterOf(shard);
    const t = traffic(store, tag, 4);
    try {
      await t.succeeded(20);
      const promoted = await redis.failover(shard);
      expect(promoted).not.toEqual(before);
      await t.succeeded(40);
    } finally {
      await t.stop();
    }
    // A manual failover waits for the replica to catch up: every acknowledged call is on the new master.
    const acked = t.log.acquires.filter((o) => o === 'ok').length;
    const ackedLeases = t.log.settles.filter((s) => s.outcome === 'ok').map((s) => s.lease);
    await checkState(store, prefix, tag, t.log, redis.masterOf(shard), { units: acked, leases: ackedLeases });
  });

  it('a killed master: calls in flight resolve or reject typed, the same store recovers once the replica is promoted, what was replicated (WAIT) survives, and the restarted node takes the shard back', async () => {
    const [prefix, tag] = ['fo2:', 'c'];
    const shard = await shardOf(`${prefix}{${tag}}:rpm`);
    const store = new RedisStore({ client: cluster, keyPrefix: prefix, clock: new FakeClock() });
    const before = redis.masterOf(shard);
    // Acknowledged and confirmed on the replica (WAIT 1) before the kill: Redis keeps these.
    const confirmed = traffic(store, tag, 2, 'c');
    await confirmed.succeeded(10);
    await confirmed.stop();
    const direct = new Redis(before.port, before.host);
    expect(await direct.call('WAIT', 1, 5000)).toBe(1);
    direct.disconnect();
    const units = confirmed.log.acquires.filter((o) => o === 'ok').length;
    const leases = confirmed.log.settles.filter((s) => s.outcome === 'ok').map((s) => s.lease);

    // Traffic on a tag another master owns runs alongside: with the default
    // cluster-require-full-coverage, the whole cluster refuses commands (CLUSTERDOWN) from the
    // moment the master is judged failed until its replica is promoted.
    const other = traffic(new RedisStore({ client: cluster, keyPrefix: prefix, clock: new FakeClock() }), 'b', 1);
    const t = traffic(store, tag, 4);
    try {
      await t.succeeded(20);
      const promoted = await redis.kill(shard);
      expect(promoted).not.toEqual(before);
      expect(redis.masterOf(shard)).toEqual(promoted);
      await t.succeeded(40);
      await other.succeeded(20);
    } finally {
      await Promise.all([t.stop(), other.stop()]);
    }
    expect(
      [...other.log.acquires, ...other.log.settles.map((s) => s.outcome)].filter(
        (o) => o !== 'ok' && o !== 'unavailable',
      ),
    ).toEqual([]);
    // The master was gone until the replica took over: calls meanwhile failed typed, fast, and never hung.
    expect(t.log.acquires).toContain('unavailable');
    const log: Log = {
      acquires: [...confirmed.log.acquires, ...t.log.acquires],
      settles: [...confirmed.log.settles, ...t.log.settles],
      rejectedAt: [],
    };
    const { spent } = await checkState(store, prefix, tag, log, redis.masterOf(shard), { units, leases });
    const usd = await store.total(`{${tag}}:usd`, WINDOW);

    // The killed node, restarted, rejoins as a replica of the promoted one, and takes the shard back
    // through a manual failover, which loses nothing: the same state, exactly, on the old master.
    expect(await redis.restart(before)).toEqual(before);
    expect(await redis.failover(shard)).toEqual(before);
    expect(redis.masterOf(shard)).toEqual(before);
    const r = await store.acquire([rateOp(tag)]);
    expect(LIMIT - (r.results[0]?.remaining ?? 0) - 1).toBe(spent + 1);
    expect(await store.total(`{${tag}}:usd`, WINDOW)).toBe(usd);
    await expect(redis.restart(before)).rejects.toThrow(/no killed node/);
  });
});
