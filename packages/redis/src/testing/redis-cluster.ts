import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type RedisServerHandle, startRedisServer } from './redis-server';

/** A Redis Cluster of masters started for a test. */
export interface RedisClusterHandle {
  /** Every master, in slot order: node `i` owns the `i`-th equal share of the 16384 slots. */
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** Stops every node (SIGTERM), waits for them to exit and removes their temp dirs. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** The binary; default `$REL_REDIS_SERVER`, else `redis-server` on the PATH. */
  binary?: string;
  /** How many masters (no replicas). Default 3, the fewest `redis-cli --cluster create` accepts. */
  masters?: number;
  /** `cluster-node-timeout`: how long a silent node takes to be judged failing. Default 2000 ms. */
  nodeTimeoutMs?: number;
  /** How long to wait for every node to answer and agree on a healthy slot map. Default 15 s. */
  startTimeoutMs?: number;
}

const SLOTS = 16_384;

/**
 * Starts a throwaway Redis Cluster of `masters` (default 3) `redis-server` processes on free
 * loopback ports, without persistence, each with its cluster config in its own temp dir. The
 * slots are split evenly from Node (`CLUSTER ADDSLOTS` on each node, then `CLUSTER MEET`; no
 * `redis-cli` needed), and it resolves once every node reports `cluster_state:ok` and all agree on
 * the slot map. Stop it with `stop()`; a start that fails half-way stops what it started.
 * @throws Error when a node does not start, or the cluster is not healthy within `startTimeoutMs`.
 * @example
 * const redis = await startRedisCluster();
 * const cluster = new Cluster(redis.nodes, { enableOfflineQueue: false });
 * const store = new RedisStore({ client: cluster, keyPrefix: 'gw:' });
 * // ... test ...
 * cluster.disconnect();
 * await redis.stop();
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 1 || masters > SLOTS)
    throw new TypeError(`startRedisCluster: masters must be a whole number from 1 to ${SLOTS}`);
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
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
  try {
    for (let i = 0; i < masters; i++) dirs.push(await mkdtemp(join(tmpdir(), 'rel-redis-cluster-')));
    const started = await Promise.allSettled(
      dirs.map((dir) =>
        startRedisServer({
          ...(options.binary === undefined ? {} : { binary: options.binary }),
          startTimeoutMs: timeoutMs,
          args: [
            '--dir',
            dir,
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, 'nodes.conf'),
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 2000),
          ],
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const s of servers)
      clients.push(new Redis(s.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 }));
    // Distinct config epochs (as redis-cli sets them) spare the nodes resolving an epoch collision.
    await Promise.all(
      clients.map(async (c, i) => {
        const first = Math.floor((i * SLOTS) / masters);
        const last = Math.floor(((i + 1) * SLOTS) / masters) - 1;
        const slots = Array.from({ length: last - first + 1 }, (_, k) => first + k);
        await c.call('CLUSTER', 'ADDSLOTS', ...slots);
        await c.call('CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
      }),
    );
    // Every node meets every other, so no node waits for gossip to learn of a third.
    await Promise.all(
      clients.flatMap((c, i) =>
        servers.filter((_, j) => j !== i).map((s) => c.call('CLUSTER', 'MEET', '127.0.0.1', s.port)),
      ),
    );
    await waitForHealthyCluster(clients, deadline, timeoutMs);
  } catch (error) {
    await stop();
    throw new Error(`startRedisCluster: could not start a ${masters}-master cluster`, { cause: error });
  }
  for (const c of clients) c.disconnect();
  clients.length = 0;
  return { nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })), stop };
}

/** Polls every node until each reports `cluster_state:ok` and all return the same slot map. */
async function waitForHealthyCluster(clients: readonly Redis[], deadline: number, timeoutMs: number): Promise<void> {
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const views = await Promise.all(
      clients.map(async (c) => {
        const info = String(await c.call('CLUSTER', 'INFO'));
        const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
        const known = Number(/cluster_known_nodes:(\d+)/.exec(info)?.[1] ?? 0);
        return { state, known, slots: slotMap(await c.call('CLUSTER', 'SLOTS')) };
      }),
    );
    const [first] = views;
    if (
      first &&
      views.every((v) => v.state === 'ok' && v.known === clients.length && v.slots === first.slots) &&
      first.slots.split(';').length === clients.length
    )
      return;
    last = views.map((v, i) => `node ${i}: ${v.state}, knows ${v.known}, slots ${v.slots || 'none'}`).join('; ');
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the cluster was not healthy within ${timeoutMs} ms (${last})`);
}

/** `CLUSTER SLOTS` as `first-last@port;...`, sorted, so the nodes' views compare as strings. */
function slotMap(reply: unknown): string {
  return (reply as [number, number, [string, number]][])
    .map(([first, last, [, port]]) => `${first}-${last}@${port}`)
    .sort()
    .join(';');
}
