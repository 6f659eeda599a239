/**
 * ratelimit: rate-limit decisions per second.
 *
 * Same limit everywhere: 1,000 per second per key (rel: GCRA `rate` op, limit 1000, period 1 s,
 * burst = limit; rate-limiter-flexible: 1000 points per 1 s fixed window), cost 1, keys drawn from
 * 10,000 distinct ones, so every decision is an admit (the common path). Memory stores: sequential
 * awaited decisions in one process, interleaved samples. Redis stores: one ioredis connection each,
 * 50 decisions in flight, on the same redis-server, alternating 2 s runs; rel twice, with its
 * defaults (the decisions of one event-loop turn in EVALSHA runs of up to 32) and with `batchAcquire: false` (one
 * EVALSHA per decision); rate-limiter-flexible with its defaults. Ceiling: redis-benchmark (C client,
 * 50 connections) running each library's own Lua script with EVALSHA. Redis Cluster: rel's
 * `RedisStore` twice (defaults: the decisions of one turn in one run per master node; and
 * `batchAcquire: false`, one script run per decision) and `RateLimiterRedis`, each on its own ioredis
 * `Cluster` client of a 3-master cluster (`startRedisCluster`, no replicas), the same keys (they
 * hash over all three masters), 50 in flight.
 */
import { execFileSync } from 'node:child_process';
import { MemoryStore } from '@rel/core';
import { RedisStore, RedisStoreOptionsSchema } from '@rel/redis';
import { ACQUIRE_BATCH_LUA, RATE_LUA } from '@rel/redis/scripts';
import { readyCluster, startRedisCluster, startRedisServer } from '@rel/redis/testing';
import { type Cluster, type ClusterOptions, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { compare, fmtNs, fmtRate, median, ratio } from '../lib/measure';
import { table } from '../lib/report';

const LIMIT = 1000;
const PERIOD_MS = 1000;
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user:${i}`);
const CONCURRENCY = 50;
/** Decisions per script call in the ceiling run of rel's batch script: the store's default maxBatch. */
const BATCH = RedisStoreOptionsSchema.parse({}).maxBatch;

let cursor = 0;
const nextKey = () => KEYS[(cursor = (cursor + 7919) % KEYS.length)] as string;

function relDecide(store: MemoryStore | RedisStore) {
  return async () => {
    const r = await store.acquire([{ type: 'rate', key: nextKey(), limit: LIMIT, periodMs: PERIOD_MS, cost: 1 }]);
    if (!r.allowed) throw new Error('rel refused: the benchmark measures the admit path');
  };
}

function rlfDecide(limiter: RateLimiterMemory | RateLimiterRedis) {
  return async () => {
    await limiter.consume(nextKey(), 1);
  };
}

/** Decisions per second with `CONCURRENCY` loops in flight for `ms`. */
async function saturate(decide: () => Promise<void>, ms: number): Promise<number> {
  let count = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  const loop = async () => {
    while (performance.now() < end) {
      await decide();
      count++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return (count * 1000) / (performance.now() - t0);
}

function redisBenchmark(port: number, args: readonly string[], pipeline = 1): number {
  const out = execFileSync(
    'redis-benchmark',
    [
      '-p',
      String(port),
      '-n',
      '100000',
      '-c',
      String(CONCURRENCY),
      '-P',
      String(pipeline),
      '-r',
      '10000',
      '-q',
      ...args,
    ],
    { encoding: 'utf8' },
  );
  const m = /([\d.]+) requests per second/.exec(out);
  if (!m) throw new Error(`redis-benchmark printed no rate: ${out}`);
  return Number(m[1]);
}

/** rate-limiter-flexible's Redis limiter on `client`, with the bench's limit. */
function rlfRedisLimiter(client: Redis | Cluster): RateLimiterRedis {
  return new RateLimiterRedis({
    storeClient: client,
    points: LIMIT,
    duration: PERIOD_MS / 1000,
    keyPrefix: 'rlflx:bench',
  });
}

/**
 * Each run's decisions per second: a 1.5 s warm-up each, then five rounds of 2 s runs, each round
 * in a rotated order so no run always goes first.
 */
async function rotatedRates(runs: readonly (() => Promise<void>)[]): Promise<number[][]> {
  for (const run of runs) await saturate(run, 1500);
  const rates: number[][] = runs.map(() => []);
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < runs.length; j++) {
      const k = (i + j) % runs.length;
      (rates[k] as number[]).push(await saturate(runs[k] as () => Promise<void>, 2000));
    }
  }
  return rates;
}

/**
 * rel (defaults, and `batchAcquire: false`) and rate-limiter-flexible on one 3-master Redis
 * Cluster, each on its own `Cluster` client: a 1.5 s warm-up each, then five rounds of 2 s runs (the
 * three in rotated order). Returns the rows and a note with the samples.
 */
async function clusterRows(): Promise<{ rows: string[][]; note: string }> {
  const redis = await startRedisCluster();
  try {
    // rel's client as its README recommends: fail fast, no offline queue.
    const relOptions: ClusterOptions = {
      enableOfflineQueue: false,
      redisOptions: { commandTimeout: 500, connectTimeout: 2000, maxRetriesPerRequest: 1 },
    };
    const relClient = await readyCluster(redis.nodes, relOptions);
    const relAloneClient = await readyCluster(redis.nodes, relOptions);
    // rate-limiter-flexible's as on the single Redis above (offline queue on, one retry).
    const rlfClient = await readyCluster(redis.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    const relStore = new RedisStore({ client: relClient, keyPrefix: 'rel:bench:' });
    const relAlone = new RedisStore({ client: relAloneClient, keyPrefix: 'rel:alone:', batchAcquire: false });
    const rlf = rlfRedisLimiter(rlfClient);
    const rates = await rotatedRates([relDecide(relStore), relDecide(relAlone), rlfDecide(rlf)]);
    relClient.disconnect();
    relAloneClient.disconnect();
    rlfClient.disconnect();
    const [relRates, aloneRates, rlfRates] = rates as [number[], number[], number[]];
    const relR = median(relRates);
    const aloneR = median(aloneRates);
    const rlfR = median(rlfRates);
    const where = 'Cluster (3 masters), 50 in flight';
    return {
      rows: [
        [
          where,
          'rel RedisStore on an ioredis Cluster, defaults (one run per master per turn)',
          fmtRate(relR),
          ratio(relR, rlfR),
          '',
        ],
        [
          where,
          'rel RedisStore on an ioredis Cluster, batchAcquire: false (one EVALSHA per decision)',
          fmtRate(aloneR),
          '',
          `${ratio(aloneR, rlfR)} vs the peer`,
        ],
        [where, 'rate-limiter-flexible RateLimiterRedis on an ioredis Cluster', fmtRate(rlfR), '', ''],
      ],
      note: `Cluster samples (decisions/s): rel ${relRates.map(fmtRate).join(', ')}; rel batchAcquire: false ${aloneRates.map(fmtRate).join(', ')}; rate-limiter-flexible ${rlfRates.map(fmtRate).join(', ')}.`,
    };
  } finally {
    await redis.stop();
  }
}

/** Runs the memory, Redis and Redis Cluster comparisons and returns the RESULTS.md body. */
export async function ratelimitBench(): Promise<string> {
  // 1. In memory.
  const relMem = new MemoryStore();
  const rlfMem = new RateLimiterMemory({ points: LIMIT, duration: PERIOD_MS / 1000 });
  const mem = await compare([
    { name: 'rel MemoryStore (GCRA)', run: relDecide(relMem) },
    { name: 'rate-limiter-flexible RateLimiterMemory', run: rlfDecide(rlfMem) },
  ]);
  const [rm, fm] = mem as [(typeof mem)[0], (typeof mem)[0]];

  // 2. Redis, same server, same concurrency.
  const server = await startRedisServer();
  const notes: string[] = [];
  let redisRows: string[][] = [];
  try {
    const relRedis = new RedisStore({ url: server.url, keyPrefix: 'rel:bench:', batchAcquire: false });
    const relBatched = new RedisStore({ url: server.url, keyPrefix: 'rel:bench:' });
    const rlfClient = new Redis(server.url, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    const rlfRedis = rlfRedisLimiter(rlfClient);
    const rates = await rotatedRates([relDecide(relBatched), relDecide(relRedis), rlfDecide(rlfRedis)]);
    await relRedis.close();
    await relBatched.close();
    const [batchRates, relRates, rlfRates] = rates as [number[], number[], number[]];

    // 3. Ceiling: the same scripts from redis-benchmark's C client.
    const admin = new Redis(server.url);
    // The script an unbatched acquire of one rate op runs (RATE_LUA): ARGV now ('' = Redis TIME), limit, period, burst, cost.
    const relSha = String(await admin.call('SCRIPT', 'LOAD', RATE_LUA));
    const batchSha = String(await admin.call('SCRIPT', 'LOAD', ACQUIRE_BATCH_LUA));
    const rlfScript = (rlfRedis as unknown as { _incrTtlLuaScript: string })._incrTtlLuaScript;
    const rlfSha = String(await admin.call('SCRIPT', 'LOAD', rlfScript));
    const relOp = ['', String(LIMIT), String(PERIOD_MS), '', '1'];
    // rel's batch script: per decision a header (its op count) and one argument per op.
    const batchOp = ['1', `r,${LIMIT},${PERIOD_MS},,1,,`];
    // Check the argument shapes before timing them: both calls must answer as the libraries expect.
    const probe = (await admin.call('EVALSHA', relSha, '1', 'rel:probe', ...relOp)) as number[];
    if (probe[0] !== 1) throw new Error(`rel script probe refused: ${JSON.stringify(probe)}`);
    const batchProbe = (await admin.call(
      'EVALSHA',
      batchSha,
      '2',
      'rel:probe:a',
      'rel:probe:b',
      ...batchOp,
      ...batchOp,
    )) as number[][];
    if (batchProbe.length !== 2 || batchProbe.some((r) => r[0] !== 1)) {
      throw new Error(`rel batch script probe refused: ${JSON.stringify(batchProbe)}`);
    }
    const relArgs = ['EVALSHA', relSha, '1', 'rel:bench:user:__rand_int__', ...relOp];
    const batchArgs = [
      'EVALSHA',
      batchSha,
      String(BATCH),
      ...Array.from({ length: BATCH }, () => 'rel:bench:user:__rand_int__'),
      ...Array.from({ length: BATCH }, () => batchOp).flat(),
    ];
    const rlfArgs = ['EVALSHA', rlfSha, '1', 'rlflx:bench:user:__rand_int__', '1', String(PERIOD_MS / 1000)];
    const relCeiling = redisBenchmark(server.port, relArgs);
    const rlfCeiling = redisBenchmark(server.port, rlfArgs);
    // ioredis pipelines the 50 in-flight commands on its one connection; -P 16 is that shape for the C client.
    const relCeilingP = redisBenchmark(server.port, relArgs, 16);
    const rlfCeilingP = redisBenchmark(server.port, rlfArgs, 16);
    const batchCeiling = BATCH * redisBenchmark(server.port, batchArgs);
    await admin.quit();
    rlfClient.disconnect();
    const batchR = median(batchRates);
    const relR = median(relRates);
    const rlfR = median(rlfRates);
    redisRows = [
      [
        'Redis, 50 in flight',
        `rel RedisStore, defaults (acquires of one turn in runs of up to ${BATCH})`,
        fmtRate(batchR),
        '1.00',
        `${((100 * batchR) / batchCeiling).toFixed(0)}% of its batch ceiling`,
      ],
      [
        'Redis, 50 in flight',
        'rel RedisStore, batchAcquire: false (one EVALSHA per decision)',
        fmtRate(relR),
        '',
        `${ratio(relR, rlfR)} vs the peer; ${((100 * relR) / relCeiling).toFixed(0)}% of its -c 50 ceiling`,
      ],
      [
        'Redis, 50 in flight',
        'rate-limiter-flexible RateLimiterRedis (defaults)',
        fmtRate(rlfR),
        ratio(batchR, rlfR),
        `${((100 * rlfR) / rlfCeiling).toFixed(0)}% of its -c 50 ceiling`,
      ],
      ['ceiling, -c 50', 'redis-benchmark EVALSHA rel rate script (RATE_LUA)', fmtRate(relCeiling), '', ''],
      ['ceiling, -c 50', 'redis-benchmark EVALSHA rate-limiter-flexible script', fmtRate(rlfCeiling), '', ''],
      [
        'ceiling, -c 50 -P 16',
        'redis-benchmark EVALSHA rel rate script (RATE_LUA)',
        fmtRate(relCeilingP),
        ratio(relCeilingP, rlfCeilingP),
        'script cost alone',
      ],
      ['ceiling, -c 50 -P 16', 'redis-benchmark EVALSHA rate-limiter-flexible script', fmtRate(rlfCeilingP), '', ''],
      [
        `ceiling, -c 50, ${BATCH} per call`,
        'redis-benchmark EVALSHA rel batch script',
        fmtRate(batchCeiling),
        ratio(batchCeiling, rlfCeilingP),
        'decisions/s; ratio vs the peer script at -P 16',
      ],
    ];
    notes.push(
      `Redis samples (decisions/s): rel defaults ${batchRates.map(fmtRate).join(', ')}; rel batchAcquire: false ${relRates.map(fmtRate).join(', ')}; rate-limiter-flexible ${rlfRates.map(fmtRate).join(', ')}.`,
      `redis-server ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=([\d.]+)/)?.[1] ?? '?'} on 127.0.0.1.`,
    );
  } finally {
    await server.stop();
  }
  // 4. Redis Cluster, same keys, same concurrency.
  const clustered = await clusterRows();
  notes.push(clustered.note);
  const memRows = [
    ['memory, sequential', rm.name, `${fmtRate(rm.opsPerSec)} (${fmtNs(rm.medianNs)})`, '1.00', ''],
    [
      'memory, sequential',
      fm.name,
      `${fmtRate(fm.opsPerSec)} (${fmtNs(fm.medianNs)})`,
      ratio(fm.medianNs, rm.medianNs),
      '',
    ],
  ];
  return [
    table(['store', 'limiter', 'decisions/s', 'ratio rel/peer', 'note'], [...memRows, ...redisRows, ...clustered.rows]),
    '',
    "Ratio = rel decisions/s / the peer's (above 1: rel is faster); on Redis, rel with its defaults. Limit 1,000/s per key, cost 1, keys",
    "cycled over 10,000 distinct ones, every decision admitted. rel: GCRA (`acquire([{ type: 'rate' }])`);",
    'rate-limiter-flexible: fixed window (`consume(key, 1)`). Memory: 15 interleaved samples of sequential',
    'awaited decisions. Redis: one ioredis connection per limiter, 50 loops in flight, five rounds of 2 s runs',
    '(the three in rotated order) after a 1.5 s warm-up each, median. rel runs twice: with its defaults, which',
    `send the decisions issued in one event-loop turn as EVALSHA runs of up to ${BATCH} of a script that makes each in turn`,
    '(atomic, independent, one result or error per caller; one Redis TIME per call), and with',
    '`batchAcquire: false` (one EVALSHA per decision: a lone rate op runs `RATE_LUA`; the acquires of a turn leave in socket writes of up to 8); rate-limiter-flexible keeps its defaults',
    '(`RateLimiterRedis` on a plain ioredis client, one EVALSHA per decision, no pipelining option set).',
    'Ceiling: `redis-benchmark -n 100000 -c 50 -r 10000 EVALSHA`',
    "of the library's own script (rel: RATE_LUA, the script an unbatched acquire of one rate op runs; rate-limiter-flexible:",
    'SET NX + INCRBY + PTTL), i.e. the server-side cost with a C client and no JS; once one request per',
    'connection at a time (`-c 50`, as asked), once with 16 pipelined per connection (`-P 16`, closer to',
    `how one ioredis connection carries 50 in-flight commands); rel's batch script with ${BATCH} decisions per call`,
    `(\`-c 50\`, decisions/s = calls/s x ${BATCH}).`,
    'Cluster: a 3-master Redis Cluster on 127.0.0.1 (`startRedisCluster`, no replicas), the same 10,000 keys (no hash tag, so',
    'they spread over the three masters), one ioredis `Cluster` client per limiter, 50 loops in flight, five rounds of 2 s runs',
    'after a 1.5 s warm-up each (the three in rotated order), median. rel runs twice: with its defaults, which send the decisions',
    "of one turn as one run per master node of a script that may touch any of that node's slots (Redis 7 `allow-cross-slot-keys`),",
    'and with `batchAcquire: false` (one script run per decision); its clients as its README recommends (no offline queue, 500 ms',
    "command timeout), rate-limiter-flexible's as on the single Redis.",
    ...notes,
  ].join('\n');
}
