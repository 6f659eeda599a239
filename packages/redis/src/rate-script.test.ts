import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACQUIRE_LUA, RATE_LUA } from './scripts';
import { type RedisServerHandle, startRedisServer } from './testing/redis-server';

let server: RedisServerHandle;
let redis: Redis;
let acquireSha: string;
let rateSha: string;
let n = 0;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  acquireSha = String(await redis.call('SCRIPT', 'LOAD', ACQUIRE_LUA));
  rateSha = String(await redis.call('SCRIPT', 'LOAD', RATE_LUA));
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

interface MonitorConnection {
  on(event: 'monitor', listener: (time: string, args: string[], source: string) => void): void;
  disconnect(): void;
}

type Op = { key: string; limit: number; period: number; burst: number | undefined; cost: number };
type Step = { advance: number; op: Op };

const whole = (min: number, max: number) => fc.integer({ min, max });
const frac = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const op: fc.Arbitrary<Op> = fc.record({
  key: fc.constantFrom('x', 'y'),
  limit: fc.oneof(fc.constantFrom(0, -1), whole(1, 20), frac(0.1, 50)),
  period: fc.oneof(fc.constantFrom(1, 1000, 60_000), whole(1, 100_000), frac(0.5, 10_000)),
  burst: fc.option(fc.oneof(whole(0, 30), frac(0, 30)), { nil: undefined }),
  cost: fc.oneof(whole(0, 4), frac(0, 8)),
});
const step: fc.Arbitrary<Step> = fc.record({
  advance: fc.oneof(fc.constant(0), whole(1, 5000), frac(0, 5000)),
  op,
});

/**
 * Runs each step through both scripts in one MULTI (ACQUIRE_LUA on keys `a:*`, RATE_LUA on `b:*`),
 * returning per step both replies and both stored values, and every write the scripts made (from
 * MONITOR, keys without their prefix). Keys are made persistent in the same MULTI: Redis expires
 * them on its real clock, which the test's times do not follow; the PX each script asked for is
 * compared from MONITOR.
 */
async function runBoth(start: number, steps: readonly Step[]) {
  const run = ++n;
  const monitor = (await (
    redis as unknown as { monitor(): Promise<MonitorConnection> }
  ).monitor()) as MonitorConnection;
  const writes: Record<'a' | 'b', string[][]> = { a: [], b: [] };
  let drained = false;
  monitor.on('monitor', (_t, args, source) => {
    if (source !== 'lua') {
      if (String(args[0]).toLowerCase() === 'echo' && args[1] === `drain${run}`) drained = true;
      return;
    }
    const cmd = String(args[0]).toLowerCase();
    if (cmd === 'get' || cmd === 'time') return;
    const m = /^([ab])(\d+):(.*)$/.exec(String(args[1]));
    if (!m || Number(m[2]) !== run) return;
    writes[m[1] as 'a' | 'b'].push([cmd, m[3] as string, ...args.slice(2)]);
  });
  const out = [];
  let now = start;
  try {
    for (const s of steps) {
      now += s.advance;
      const { key, limit, period, burst, cost } = s.op;
      const a = `a${run}:${key}`;
      const b = `b${run}:${key}`;
      const reply = await redis
        .multi()
        .evalsha(acquireSha, 1, a, now, 'r', limit, period, burst ?? '', cost, '', '')
        .evalsha(rateSha, 1, b, now, limit, period, burst ?? '', cost)
        .persist(a)
        .persist(b)
        .get(a)
        .get(b)
        .exec();
      const [[ea, ra], [eb, rb], , , [, va], [, vb]] = reply as [Error | null, unknown][] as [
        [Error | null, unknown],
        [Error | null, unknown],
        unknown,
        unknown,
        [Error | null, unknown],
        [Error | null, unknown],
      ];
      out.push({ acquire: ea ?? ra, rate: eb ?? rb, stored: [va, vb] });
    }
    await redis.echo(`drain${run}`);
    for (let i = 0; i < 200 && !drained; i++) await new Promise((r) => setTimeout(r, 5));
    expect(drained).toBe(true);
  } finally {
    monitor.disconnect();
  }
  return { out, writes };
}

describe('RATE_LUA', () => {
  it('replies and writes exactly as ACQUIRE_LUA for one rate op, across random limits, periods, bursts, costs and times', async () => {
    let refusals = 0;
    let fractions = 0;
    let zeroLimits = 0;
    let setWrites = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(1_700_000_000_000), frac(1_700_000_000_000, 1_700_000_001_000)),
        fc.array(step, { minLength: 1, maxLength: 20 }),
        async (start, steps) => {
          const { out, writes } = await runBoth(start, steps);
          for (const [i, s] of out.entries()) {
            expect(s.rate, `step ${i}`).toEqual(s.acquire);
            expect(s.stored[1], `step ${i}`).toBe(s.stored[0]);
            const r = s.acquire as unknown[];
            if (r[0] === 0) refusals++;
            if (r.some((x) => typeof x === 'string') || String(s.stored[0]).includes('.')) fractions++;
            if (!((steps[i] as Step).op.limit > 0)) zeroLimits++;
          }
          expect(writes.b).toEqual(writes.a);
          setWrites += writes.a.filter((w) => w[0] === 'set').length;
        },
      ),
      { numRuns: 120 },
    );
    // The random cases did reach every branch: refusals, fractional replies or state, limit <= 0, writes.
    expect(refusals).toBeGreaterThan(20);
    expect(fractions).toBeGreaterThan(20);
    expect(zeroLimits).toBeGreaterThan(10);
    expect(setWrites).toBeGreaterThan(30);
  });

  it('reads Redis TIME when no time is passed, as ACQUIRE_LUA does', async () => {
    const key = `t${++n}`;
    const [sec, micro] = (await redis.time()) as unknown as [string, string];
    const before = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    const acquire = await redis.evalsha(acquireSha, 1, `${key}:a`, '', 'r', 10, 1000, '', 1, '', '');
    const rate = await redis.evalsha(rateSha, 1, `${key}:b`, '', 10, 1000, '', 1);
    expect(rate).toEqual(acquire);
    expect(rate).toEqual([1, 1, 9, 100, 0]);
    // The stored arrival time is Redis's own clock plus one interval.
    const stored = Number(await redis.get(`${key}:b`));
    expect(stored).toBeGreaterThanOrEqual(before + 100);
    expect(stored).toBeLessThan(before + 100 + 60_000);
  });

  it('fails on a key of another type with WRONGTYPE, as ACQUIRE_LUA does, and leaves it unchanged', async () => {
    const key = `w${++n}`;
    await redis.hset(key, 'f', '1');
    const errorOf = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: Error) => e.message.split(' ')[0],
      );
    const acquire = await errorOf(redis.evalsha(acquireSha, 1, key, '', 'r', 10, 1000, '', 1, '', ''));
    const rate = await errorOf(redis.evalsha(rateSha, 1, key, '', 10, 1000, '', 1));
    expect(acquire).toBe('WRONGTYPE');
    expect(rate).toBe(acquire);
    expect(await redis.hgetall(key)).toEqual({ f: '1' });
    // A limit of 0 reads no key, so it decides even there, in both.
    const a0 = await redis.evalsha(acquireSha, 1, key, '', 'r', 0, 1000, '', 1, '', '');
    expect(await redis.evalsha(rateSha, 1, key, '', 0, 1000, '', 1)).toEqual(a0);
    expect(a0).toEqual([0, 0, 0, 0, 1000]);
  });
});
