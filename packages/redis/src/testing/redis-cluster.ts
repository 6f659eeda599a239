import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type RedisServerHandle, startRedisServer } from './redis-server';

/** One node of a test cluster: where clients connect. */
export interface RedisClusterNode {
  readonly host: string;
  readonly port: number;
}

/** A Redis Cluster started for a test. */
export interface RedisClusterHandle {
  /**
   * Every master as started, in slot order: node `i` owns the `i`-th equal share of the 16384
   * slots (its "shard" `i`). Pass them as a client's seed nodes. A failover changes which node
   * serves shard `i` (see `masterOf`), not this list.
   */
  readonly nodes: ReadonlyArray<RedisClusterNode>;
  /** Every replica as started, shard by shard: with `replicas: r`, shard `i` has `replicas[i * r ... i * r + r - 1]`. Empty by default. */
  readonly replicas: ReadonlyArray<RedisClusterNode>;
  /** The node that is master of shard `shard` now (after any `failover` or `kill`). */
  masterOf(shard: number): RedisClusterNode;
  /**
   * A manual `CLUSTER FAILOVER` on a replica of shard `shard`: without `force`, the master stops
   * writes, the replica catches up and is promoted, so nothing acknowledged is lost; `force` skips
   * the handshake with the master (its writes not yet replicated may be lost). Resolves with the new
   * master once every node reports `cluster_state:ok` and all agree on the slot map, the old master
   * now its replica.
   * @throws Error when the shard has no live replica, or the failover does not complete in time.
   */
  failover(shard: number, options?: { force?: boolean }): Promise<RedisClusterNode>;
  /**
   * Kills the master of shard `shard` (SIGKILL, as a crash would) and resolves with the replica
   * the cluster promoted on its own (after `cluster-node-timeout` and an election), once every live
   * node reports `cluster_state:ok` and all agree on the slot map. The killed node stays down until `restart`.
   * @throws Error when the shard has no live replica, or no replica is promoted in time.
   */
  kill(shard: number): Promise<RedisClusterNode>;
  /**
   * Starts a node `kill` stopped again, on its port and with its own cluster config, and resolves
   * with it once it follows its shard's current master (link up) and every node agrees on the slot
   * map: it rejoins as a replica, so `failover` can hand the shard back to it.
   * @throws Error when `node` is not a killed node, or it does not rejoin in time.
   */
  restart(node: RedisClusterNode): Promise<RedisClusterNode>;
  /** Stops every node (SIGTERM), waits for them to exit and removes their temp dirs. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** The binary; default `$REL_REDIS_SERVER`, else `redis-server` on the PATH. */
  binary?: string;
  /** How many masters. Default 3, the fewest `redis-cli --cluster create` accepts. */
  masters?: number;
  /** Replicas per master (0 to 4). Default 0: masters only. */
  replicas?: number;
  /**
   * `cluster-node-timeout`: how long a silent node takes to be judged failing. Default 2000 ms
   * without replicas, 1000 ms with (it bounds how long an automatic failover takes).
   */
  nodeTimeoutMs?: number;
  /** How long to wait for every node to answer and agree on a healthy slot map, and for a failover. Default 15 s. */
  startTimeoutMs?: number;
}

const SLOTS = 16_384;
const HOST = '127.0.0.1';
/**
 * With replicas: a replica syncs at once (the default waits 5 s for more replicas to share one
 * transfer); a master pings its replicas every second (default 10 s), so a fresh replica's offset
 * moves and the nodes list it in `CLUSTER SLOTS` (Redis 7 hides a replica whose offset is 0); a
 * replica may always stand for election, however long it was cut off; replicas never migrate.
 */
const REPLICA_ARGS = [
  '--repl-diskless-sync-delay',
  '0',
  '--repl-ping-replica-period',
  '1',
  '--cluster-replica-validity-factor',
  '0',
  '--cluster-allow-replica-migration',
  'no',
];
type Shard = { master: RedisServerHandle; replicas: RedisServerHandle[] };

/**
 * Starts a throwaway Redis Cluster of `masters` (default 3) `redis-server` processes on free
 * loopback ports, without persistence, each with its cluster config in its own temp dir, and
 * `replicas` (default 0) replicas per master. The slots are split evenly from Node
 * (`CLUSTER ADDSLOTS` on each master, then `CLUSTER MEET`, then `CLUSTER REPLICATE` on each
 * replica; no `redis-cli` needed), and it resolves once every node reports `cluster_state:ok`, all
 * agree on the slot map (replicas included) and every replica reports `master_link_status:up`.
 * Stop it with `stop()`; a start that fails half-way stops what it started.
 * @throws Error when a node does not start, or the cluster is not healthy within `startTimeoutMs`.
 * @example
 * const redis = await startRedisCluster({ replicas: 1 });
 * const cluster = new Cluster([...redis.nodes], { enableOfflineQueue: false });
 * const store = new RedisStore({ client: cluster, keyPrefix: 'gw:' });
 * await redis.failover(0); // shard 0's replica is its master now
 * cluster.disconnect();
 * await redis.stop();
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const perMaster = options.replicas ?? 0;
  if (!Number.isInteger(masters) || masters < 1 || masters > SLOTS)
    throw new TypeError(`startRedisCluster: masters must be a whole number from 1 to ${SLOTS}`);
  if (!Number.isInteger(perMaster) || perMaster < 0 || perMaster > 4)
    throw new TypeError('startRedisCluster: replicas must be a whole number from 0 to 4');
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const total = masters * (1 + perMaster);
  const dirs: string[] = [];
  const servers: RedisServerHandle[] = [];
  const clients: Redis[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      for (const c of clients) c.disconnect();
      await Promise.allSettled(servers.map((s) => s.stop()));
      await Promise.allSettled(dirs.map((d) => rm(d, { recursive: true, force: true })));
    })();
    return stopped;
  };
  const args = (dir: string) => [
    '--dir',
    dir,
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, 'nodes.conf'),
    '--cluster-node-timeout',
    String(options.nodeTimeoutMs ?? (perMaster > 0 ? 1000 : 2000)),
    ...(perMaster > 0 ? REPLICA_ARGS : []),
  ];
  try {
    // Clusters with replicas take their own prefix, so a test that counts the temp dirs of plain
    // clusters (redis-cluster.test.ts) does not see those of a replica cluster running beside it.
    const dirPrefix = perMaster > 0 ? 'rel-redis-replicated-' : 'rel-redis-cluster-';
    for (let i = 0; i < total; i++) dirs.push(await mkdtemp(join(tmpdir(), dirPrefix)));
    const started = await Promise.allSettled(
      dirs.map((dir) =>
        startRedisServer({
          ...(options.binary === undefined ? {} : { binary: options.binary }),
          startTimeoutMs: timeoutMs,
          args: args(dir),
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const s of servers) clients.push(admin(s.port));
    // Distinct config epochs (as redis-cli sets them) spare the nodes resolving an epoch collision.
    await Promise.all(
      clients.slice(0, masters).map(async (c, i) => {
        const first = Math.floor((i * SLOTS) / masters);
        const last = Math.floor(((i + 1) * SLOTS) / masters) - 1;
        const slots = Array.from({ length: last - first + 1 }, (_, k) => first + k);
        await c.call('CLUSTER', 'ADDSLOTS', ...slots);
        await c.call('CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
      }),
    );
    // Every node meets every other, so no node waits for gossip to learn of a third.
    await Promise.all(
      clients.flatMap((c, i) => servers.filter((_, j) => j !== i).map((s) => c.call('CLUSTER', 'MEET', HOST, s.port))),
    );
    if (perMaster > 0) {
      // A replica can follow a master only once the meet has made that master's id known to it.
      const ids = await Promise.all(
        clients.slice(0, masters).map(async (c) => String(await c.call('CLUSTER', 'MYID'))),
      );
      await Promise.all(
        clients.slice(masters).map((c, r) =>
          until(deadline, timeoutMs, `replica ${r} followed its master`, async () => {
            await c.call('CLUSTER', 'REPLICATE', ids[Math.floor(r / perMaster)] as string);
            return true;
          }),
        ),
      );
    }
    await waitForHealthyCluster(clients, masters, deadline, timeoutMs);
  } catch (error) {
    await stop();
    throw new Error(`startRedisCluster: could not start a ${masters}-master cluster`, { cause: error });
  }
  for (const c of clients) c.disconnect();
  clients.length = 0;

  const shards: Shard[] = servers.slice(0, masters).map((master, i) => ({
    master,
    replicas: servers.slice(masters + i * perMaster, masters + (i + 1) * perMaster),
  }));
  const dead = new Set<RedisServerHandle>();
  // Each node's config dir and shard, so a killed node restarts as itself (`restart`).
  const dirOf = new Map(servers.map((s, i) => [s, dirs[i] as string]));
  const shardIndexOf = new Map(
    servers.map((s, i) => [s, i < masters ? i : Math.floor((i - masters) / Math.max(1, perMaster))]),
  );
  const node = (s: RedisServerHandle): RedisClusterNode => ({ host: HOST, port: s.port });
  const shardOf = (i: number): Shard => {
    const shard = shards[i];
    if (!shard) throw new RangeError(`startRedisCluster: no shard ${i} (there are ${masters})`);
    return shard;
  };
  /**
   * Runs `change` on shard `i` (a failover asked of `candidates[0]`, or a kill), waits until every
   * live node agrees that one of `candidates` serves the shard, and records the new roles.
   */
  const promote = async (i: number, force: boolean | undefined) => {
    const shard = shardOf(i);
    const [first] = shard.replicas;
    if (!first) throw new Error(`startRedisCluster: shard ${i} has no live replica to promote`);
    const old = shard.master;
    const candidates = force === undefined ? shard.replicas : [first];
    if (force === undefined) {
      await old.kill();
      dead.add(old);
    } else {
      const c = admin(first.port);
      try {
        await c.call('CLUSTER', 'FAILOVER', ...(force ? ['FORCE'] : []));
      } finally {
        c.disconnect();
      }
    }
    const live = servers.filter((s) => !dead.has(s)).map((s) => admin(s.port));
    let owner: RedisServerHandle | undefined;
    try {
      const end = Date.now() + timeoutMs;
      const firstSlot = Math.floor((i * SLOTS) / masters);
      await until(end, timeoutMs, `a replica of shard ${i} was promoted`, async () => {
        const ranges = slotRanges(await (live[0] as Redis).call('CLUSTER', 'SLOTS'));
        const port = ranges.find((r) => r.first === firstSlot)?.port;
        owner = candidates.find((c) => c.port === port);
        return owner !== undefined || `shard ${i} on port ${port ?? 'none'}`;
      });
      await waitForHealthyCluster(live, masters, end, timeoutMs);
    } finally {
      for (const c of live) c.disconnect();
    }
    const promoted = owner as RedisServerHandle;
    shard.master = promoted;
    shard.replicas = [...shard.replicas.filter((r) => r !== promoted), ...(dead.has(old) ? [] : [old])];
    return node(promoted);
  };
  /** Starts a killed node again, as itself, and waits until it follows its shard's master. */
  const restart = async (n: RedisClusterNode) => {
    const old = [...dead].find((s) => s.port === n.port);
    if (!old) throw new Error(`startRedisCluster: no killed node on port ${n.port}`);
    const i = shardIndexOf.get(old) as number;
    const revived = await startRedisServer({
      ...(options.binary === undefined ? {} : { binary: options.binary }),
      startTimeoutMs: timeoutMs,
      port: old.port,
      args: args(dirOf.get(old) as string),
    });
    servers[servers.indexOf(old)] = revived;
    dead.delete(old);
    dirOf.set(revived, dirOf.get(old) as string);
    shardIndexOf.set(revived, i);
    const liveServers = servers.filter((s) => !dead.has(s));
    const live = liveServers.map((s) => admin(s.port));
    try {
      const end = Date.now() + timeoutMs;
      const master = shardOf(i).master.port;
      // Its config still names it master of the shard; the cluster's newer epoch makes it a replica.
      await until(end, timeoutMs, `node ${n.port} follows shard ${i}'s master ${master}`, async () => {
        const info = await (live[liveServers.indexOf(revived)] as Redis).info('replication');
        const following = info.includes('role:slave') && info.includes(`master_port:${master}`);
        return (following && info.includes('master_link_status:up')) || info.replace(/\r?\n/g, ' ').slice(0, 120);
      });
      await waitForHealthyCluster(live, masters, end, timeoutMs);
    } finally {
      for (const c of live) c.disconnect();
    }
    shardOf(i).replicas.push(revived);
    return node(revived);
  };
  return {
    nodes: shards.map((s) => node(s.master)),
    replicas: servers.slice(masters).map(node),
    masterOf: (i) => node(shardOf(i).master),
    failover: (i, { force = false } = {}) => promote(i, force),
    kill: (i) => promote(i, undefined),
    restart,
    stop,
  };
}

function admin(port: number): Redis {
  return new Redis(port, HOST, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
}

/** Polls `check` every 20 ms until it returns true; any other answer is what it saw, for the error. */
async function until(deadline: number, timeoutMs: number, what: string, check: () => Promise<true | string>) {
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const seen = await check().catch((e: Error) => e.message);
    if (seen === true) return;
    last = seen;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not so within ${timeoutMs} ms: ${what} (${last})`);
}

/**
 * Polls the nodes until each reports `cluster_state:ok`, all return the same slot map with
 * `masters` ranges and each replica's link to its master is up.
 */
async function waitForHealthyCluster(clients: readonly Redis[], masters: number, deadline: number, timeoutMs: number) {
  await until(deadline, timeoutMs, 'the cluster was healthy', async () => {
    const views = await Promise.all(
      clients.map(async (c) => {
        const info = String(await c.call('CLUSTER', 'INFO'));
        const replication = String(await c.call('INFO', 'replication'));
        return {
          state: /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown',
          role: /role:(\w+)/.exec(replication)?.[1] ?? 'unknown',
          link: /master_link_status:(\w+)/.exec(replication)?.[1] ?? 'none',
          slots: slotMap(await c.call('CLUSTER', 'SLOTS')),
        };
      }),
    );
    const [first] = views;
    const replicas = views.filter((v) => v.role === 'slave').length;
    if (
      first &&
      views.every((v) => v.state === 'ok' && v.slots === first.slots && (v.role === 'master' || v.link === 'up')) &&
      first.slots.split(';').length === masters &&
      // Every replica shows in the map: one `+port` per replica.
      (first.slots.match(/\+/g)?.length ?? 0) === replicas
    )
      return true;
    return views
      .map(
        (v, i) =>
          `node ${i}: ${v.state}, ${v.role}${v.role === 'slave' ? ` link ${v.link}` : ''}, slots ${v.slots || 'none'}`,
      )
      .join('; ');
  });
}

type SlotRange = { first: number; last: number; port: number; replicas: number[] };

function slotRanges(reply: unknown): SlotRange[] {
  return (reply as [number, number, [string, number], ...[string, number][]][]).map(
    ([first, last, [, port], ...rs]) => ({
      first,
      last,
      port,
      replicas: rs.map(([, p]) => p).sort((a, b) => a - b),
    }),
  );
}

/** `CLUSTER SLOTS` as `first-last@port+replica...;...`, sorted, so the nodes' views compare as strings. */
function slotMap(reply: unknown): string {
  return slotRanges(reply)
    .map((r) => `${r.first}-${r.last}@${r.port}${r.replicas.map((p) => `+${p}`).join('')}`)
    .sort()
    .join(';');
}
