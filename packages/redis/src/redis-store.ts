import {
  type AcquireResult,
  type Clock,
  type LimitOp,
  type SettleEntry,
  type StateStore,
  assertDistinctKeys,
} from '@rel/core';
import type { Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { AcquireBatcher, MAX_BATCH, acquireKeys, toAcquireResult, writeOps } from './acquire-batcher';
import { ClusterAcquireBatcher } from './cluster-acquire-batcher';
import { LuaScript } from './lua-script';
import { isReplyError, storeError } from './store-error';
import { WriteCoalescer } from './write-coalescer';
import {
  ACQUIRE_BATCH_CLUSTER_LUA,
  ACQUIRE_BATCH_LUA,
  ACQUIRE_LUA,
  COMPARE_AND_SET_LUA,
  INCREMENT_LUA,
  RATE_LUA,
  SETTLE_LUA,
  TOTAL_LUA,
} from './scripts';

/** The plain (serialisable) options of `RedisStore`; validated once in the constructor. */
export const RedisStoreOptionsSchema = z.strictObject({
  /** `redis://` or `rediss://` URL; the store then owns (and closes) its connection. */
  url: z
    .string()
    .url()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /**
   * `redis://` or `rediss://` URLs of some nodes of a Redis Cluster (the client finds the rest); the
   * store then owns a `Cluster` client, set up as the README's "Cluster failover" section advises.
   * The first URL's user, password and TLS apply to every node.
   */
  clusterNodes: z
    .array(
      z
        .string()
        .url()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
    )
    .min(1)
    .optional(),
  /**
   * Prepended to every key. It must not contain `{` or `}`: the first `{...}` of a key is its
   * Redis Cluster hash tag and belongs to the caller (see the README).
   */
  keyPrefix: z
    .string()
    .regex(/^[^{}]*$/, 'must not contain { or }')
    .default('rel:'),
  /** A command that gets no answer in this time fails, so a dead Redis never hangs a request. */
  commandTimeoutMs: z.number().int().positive().default(500),
  /** Time allowed to (re)connect before a connection attempt counts as failed. */
  connectTimeoutMs: z.number().int().positive().default(2000),
  /**
   * ioredis auto-pipelining on the connection the store opens: the commands issued in one event
   * loop turn leave in one write. Under concurrency it saves most per-decision socket writes; a
   * lone command waits one turn (`setImmediate`) more. Fail-fast is unchanged: a command on a
   * connection that is not ready still rejects at once. Every script (acquire, settle, total,
   * compareAndSet, increment) skips it on a standalone connection: a `batchAcquire` run is already
   * one command and goes to the socket at once; the other script calls leave in writes of up to 8
   * commands, so Redis works on one group while the client issues the next (pipelined per turn,
   * with 50 in flight, client and server took turns: half the decisions per second, and
   * 37k settlements per second against 61k). It still applies to `get`, `set` and `delete`. Not
   * used on the Cluster client of `clusterNodes` (one run per node per turn is already batched).
   */
  autoPipelining: z.boolean().default(true),
  /**
   * Sends the `acquire` calls issued in one event-loop turn as one script run (one EVALSHA) that
   * makes each decision in turn, atomic and independent, in call order: one script call, one
   * Redis `TIME` and one reply for many decisions. Each caller still gets its own result, or its own
   * error (a MONITOR of the server shows one EVALSHA per batch; `scriptRuns` from
   * `@rel/redis/testing` reads the decisions back out). With a `Cluster` client, one run per master
   * node carries the decisions whose keys it serves (Redis 7's `allow-cross-slot-keys` script flag);
   * a decision whose slot moved is made again on its own. Default: on.
   */
  batchAcquire: z.boolean().optional(),
  /**
   * With `batchAcquire`, the most decisions one script run carries. The acquire that fills a run
   * sends it at once, so under concurrency Redis works on one run while the client is still issuing
   * the next; the last run of a turn leaves at the turn's end.
   */
  maxBatch: z.number().int().min(1).max(1024).default(MAX_BATCH),
});
export type RedisStoreConfig = z.input<typeof RedisStoreOptionsSchema>;

/** Options of `RedisStore`: a URL or an existing ioredis client, plus the plain settings. */
export interface RedisStoreOptions extends RedisStoreConfig {
  /**
   * An existing ioredis `Redis` or `Cluster` client, used as is and not closed by `close()`.
   * Configure it to fail fast: `enableOfflineQueue: false`, a `commandTimeout`, and a small
   * `maxRetriesPerRequest`.
   */
  client?: Redis | Cluster;
  /**
   * For tests only: read decision time from this clock instead of Redis `TIME`. In production
   * leave it out, so gateway instances with skewed clocks still agree on every window.
   */
  clock?: Clock;
  /** Called with connection errors (ioredis `error` events); the failing command rejects as well. */
  onError?: (error: unknown) => void;
}

/** Script replies carry whole numbers as integers and fractions as strings; `Number` reads both. */
type Num = number | string;
type Client = Redis | Cluster;
// Shared by every store: each hashes its source once.
const ACQUIRE = new LuaScript(ACQUIRE_LUA);
const ACQUIRE_BATCH = new LuaScript(ACQUIRE_BATCH_LUA);
const ACQUIRE_BATCH_CLUSTER = new LuaScript(ACQUIRE_BATCH_CLUSTER_LUA);
const RATE = new LuaScript(RATE_LUA);
const SETTLE = new LuaScript(SETTLE_LUA);
const TOTAL = new LuaScript(TOTAL_LUA);
const COMPARE_AND_SET = new LuaScript(COMPARE_AND_SET_LUA);
const INCREMENT = new LuaScript(INCREMENT_LUA);
/**
 * Most script calls that leave in one socket write (see `#runScript`). With 50 decisions in
 * flight, groups of 8 measured best: fewer write system calls on both sides, Redis still busy.
 */
const SCRIPT_WRITE_GROUP = 8;
type SettleOptions = NonNullable<Parameters<StateStore['settle']>[2]>;
/** How long a settled lease is remembered, so a retried settlement is skipped (core's SETTLED_MEMORY_MS). */
const SETTLED_MEMORY_MS = 60_000;

/**
 * The `StateStore` on Redis, so several gateway instances share one truth. Every decision is one
 * Lua script run with EVALSHA (one atomic round trip; with `batchAcquire`, the acquires of one
 * event-loop turn share one run), reading time from Redis `TIME`, with the
 * same semantics as `MemoryStore` bucket for bucket. All keys of one `acquire` or `settle` must
 * share a hash tag (`{org:acme}`) so a Redis Cluster keeps them in one slot. An unreachable Redis
 * makes every method reject within `commandTimeoutMs` (no offline queue), so callers can choose
 * fail-open or fail-closed.
 *
 * Every method, batched or not, rejects with a `RelError` whose `cause` is the client's error and
 * whose message names the call and its Redis keys: `internal` when Redis answered with an error
 * (WRONGTYPE, OOM, CROSSSLOT, a script error), `dependency_unavailable` (`dependency: 'redis'`)
 * when it could not answer (connection closed, command timeout, not connected, LOADING, BUSY).
 * @throws ZodError naming the field when an option is invalid.
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'gw:' });
 * await store.acquire([{ type: 'rate', key: '{org:acme}:rpm', limit: 600, periodMs: 60_000, cost: 1 }]);
 */
export class RedisStore implements StateStore {
  readonly name = 'redis';
  readonly #client: Client;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #clock: Clock | undefined;
  readonly #batcher: AcquireBatcher | ClusterAcquireBatcher | undefined;
  readonly #writes = new WriteCoalescer(SCRIPT_WRITE_GROUP);
  #ready: Promise<void> | undefined;
  /** Set once a connection this store opened (or was given) has been started: no await needed. */
  #open: boolean;

  constructor(options: RedisStoreOptions) {
    const { client, clock, onError, ...plain } = options;
    const config = RedisStoreOptionsSchema.parse(plain);
    if ([client, config.url, config.clusterNodes].filter((x) => x !== undefined).length !== 1)
      throw new TypeError('RedisStore: pass exactly one of `url`, `clusterNodes` or `client`');
    this.#prefix = config.keyPrefix;
    this.#clock = clock;
    this.#owned = !client;
    this.#open = !!client;
    const redis =
      client ??
      (config.clusterNodes ? ownCluster(config.clusterNodes, config) : undefined) ??
      new Redis(config.url as string, {
        lazyConnect: true,
        enableOfflineQueue: false,
        commandTimeout: config.commandTimeoutMs,
        connectTimeout: config.connectTimeoutMs,
        maxRetriesPerRequest: 1,
        enableAutoPipelining: config.autoPipelining,
        retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      });
    if (this.#owned) redis.on('error', (error: unknown) => onError?.(error));
    this.#client = redis;
    if (config.batchAcquire === false) this.#batcher = undefined;
    else if (redis instanceof Cluster) {
      const alone = (ops: readonly LimitOp[], now: string) => this.#acquireAlone(redis, ops, now);
      this.#batcher = new ClusterAcquireBatcher(redis, config.keyPrefix, config.maxBatch, alone, ACQUIRE_BATCH_CLUSTER);
    } else {
      this.#batcher = new AcquireBatcher(
        (numKeys, args) => ACQUIRE_BATCH.runNow(redis, numKeys, args),
        config.keyPrefix,
        config.maxBatch,
      );
    }
  }

  /** The underlying ioredis client, for diagnostics. */
  get client(): Redis | Cluster {
    return this.#client;
  }

  async acquire(ops: readonly LimitOp[]): Promise<AcquireResult> {
    const n = ops.length;
    if (n === 0) return { allowed: true, results: [] };
    assertDistinctKeys(ops);
    const c = this.#open ? this.#client : await this.#connected();
    if (this.#batcher) return this.#batcher.acquire(ops, this.#now());
    return this.#acquireAlone(c, ops, this.#now());
  }

  /** One decision in a script run of its own; `now` is its time, or '' for Redis `TIME`. */
  async #acquireAlone(c: Client, ops: readonly LimitOp[], now: string): Promise<AcquireResult> {
    const n = ops.length;
    const op = ops[0] as LimitOp;
    if (n === 1 && op.type === 'rate') {
      // The common decision, one rate limit: its own lean script. KEYS[1], then ARGV: now, limit,
      // period, burst, cost (see RATE_LUA).
      const args = [this.#key(op.key), now, op.limit, op.periodMs, op.burst ?? '', op.cost];
      try {
        return toAcquireResult(ops, (await this.#runScript(RATE, c, 1, args)) as Num[]);
      } catch (error) {
        throw storeError('acquire', acquireKeys(ops, this.#prefix), error);
      }
    }
    // KEYS, then ARGV: now, then 7 per op (see ACQUIRE_LUA).
    const args: (string | number)[] = new Array(n + 1 + n * 7);
    args[n] = now;
    writeOps(ops, this.#prefix, args, 0, args, n + 1);
    try {
      return toAcquireResult(ops, (await this.#runScript(ACQUIRE, c, n, args)) as Num[]);
    } catch (error) {
      throw storeError('acquire', acquireKeys(ops, this.#prefix), error);
    }
  }

  /**
   * Runs one script call (every script but a batch, which goes at once). On a standalone client it
   * skips ioredis auto-pipelining, which holds every command of a turn until the turn ends: with
   * many calls in flight, client and server then take turns instead of working at once (50
   * acquires in flight: 55k decisions/s against 91k sent at once; 50 settlements: 37k against 61k).
   * Instead the calls of a turn leave in socket writes of up to `SCRIPT_WRITE_GROUP` commands, the
   * last at the turn's end. A Cluster client routes as configured.
   */
  #runScript(script: LuaScript, c: Client, numKeys: number, args: (string | number)[]): Promise<unknown> {
    if (!(c instanceof Redis)) return script.run(c, numKeys, args);
    // A client that never connected has no socket yet: it rejects or queues the command itself.
    const stream = c.status === 'ready' ? (c.stream as Socket | undefined) : undefined;
    if (stream === undefined) return script.runNow(c, numKeys, args);
    this.#writes.hold(stream);
    const reply = script.runNow(c, numKeys, args);
    this.#writes.sent();
    return reply;
  }

  async settle(leaseId: string, entries: readonly SettleEntry[], options: SettleOptions = {}): Promise<number[]> {
    if (entries.length === 0) return [];
    const c = this.#open ? this.#client : await this.#connected();
    const args: (string | number)[] = entries.map((e) => this.#key(e.key));
    // The marker shares the first key's hash tag, so the script still touches one cluster slot.
    args.push(`${this.#key((entries[0] as SettleEntry).key)}:settled:${leaseId}`);
    args.push(this.#now(), leaseId, options.retry ? '1' : '0', SETTLED_MEMORY_MS);
    for (const e of entries) args.push(e.windowMs, e.amount);
    try {
      return ((await this.#runScript(SETTLE, c, entries.length + 1, args)) as Num[]).map(Number);
    } catch (error) {
      throw storeError('settle', args.slice(0, entries.length) as string[], error);
    }
  }

  async total(key: string, windowMs: number): Promise<number> {
    const c = await this.#connected();
    const k = this.#key(key);
    try {
      return Number(await this.#runScript(TOTAL, c, 1, [k, this.#now(), windowMs]));
    } catch (error) {
      throw storeError('total', [k], error);
    }
  }

  async get(key: string): Promise<string | undefined> {
    const c = await this.#connected();
    const k = this.#key(key);
    try {
      return (await c.get(k)) ?? undefined;
    } catch (error) {
      // A quota or other non-string key reads as absent, as in MemoryStore.
      if (isReplyError(error) && error.message.startsWith('WRONGTYPE')) return undefined;
      throw storeError('get', [k], error);
    }
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const c = await this.#connected();
    const k = this.#key(key);
    try {
      if (ttlMs === undefined) await c.set(k, value);
      else if (ttlMs > 0) await c.set(k, value, 'PX', Math.ceil(ttlMs));
      else await c.del(k);
    } catch (error) {
      throw storeError('set', [k], error);
    }
  }

  async compareAndSet(key: string, expected: string | undefined, value: string, ttlMs?: number): Promise<boolean> {
    const c = await this.#connected();
    const k = this.#key(key);
    const has = expected === undefined ? '0' : '1';
    const ttl = ttlMs === undefined ? '' : String(ttlMs);
    try {
      return (await this.#runScript(COMPARE_AND_SET, c, 1, [k, has, expected ?? '', value, ttl])) === 1;
    } catch (error) {
      throw storeError('compareAndSet', [k], error);
    }
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const c = await this.#connected();
    const k = this.#key(key);
    try {
      return Number(await this.#runScript(INCREMENT, c, 1, [k, by, ttlMs]));
    } catch (error) {
      throw storeError('increment', [k], error);
    }
  }

  async delete(key: string): Promise<void> {
    const c = await this.#connected();
    const k = this.#key(key);
    try {
      await c.del(k);
    } catch (error) {
      throw storeError('delete', [k], error);
    }
  }

  /** Disconnects a connection the store opened itself; a client passed in is left open. */
  async close(): Promise<void> {
    if (!this.#owned) return;
    if (this.#client.status === 'wait' || this.#client.status === 'end') {
      this.#client.disconnect();
      return;
    }
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  /** The decision time to pass to a script: empty means "use Redis TIME". */
  #now(): string {
    return this.#clock ? String(this.#clock.now()) : '';
  }

  /** Opens a lazily created connection once; later failures surface from the commands themselves. */
  async #connected(): Promise<Client> {
    if (this.#owned && this.#client.status === 'wait') {
      this.#ready ??= this.#client.connect().then(
        () => {
          this.#open = true;
        },
        () => {},
      );
    }
    if (this.#ready) await this.#ready;
    return this.#client;
  }
}

/**
 * The `Cluster` client a store given `clusterNodes` opens: it connects on first use and fails fast,
 * and it never resends a command whose node died before replying (`retryDelayOnFailover: 0`: such a
 * command may have run; see the README's "Cluster failover").
 */
function ownCluster(urls: readonly string[], config: z.output<typeof RedisStoreOptionsSchema>): Cluster {
  const seeds = urls.map((u) => new URL(u));
  const first = seeds[0] as URL;
  return new Cluster(
    seeds.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      scaleReads: 'master',
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
      redisOptions: {
        commandTimeout: config.commandTimeoutMs,
        connectTimeout: config.connectTimeoutMs,
        maxRetriesPerRequest: 1,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}
