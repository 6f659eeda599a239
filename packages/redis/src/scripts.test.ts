import { type LimitOp, MemoryStore } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store';
import { type RedisServerHandle, startRedisServer } from './testing/redis-server';

let server: RedisServerHandle;
let n = 0;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

const KEYS = ['{t}:a', '{t}:b', '{t}:c'] as const;
type Step =
  | { kind: 'acquire'; ops: LimitOp[] }
  | { kind: 'settle'; lease: string; amount: number; windowMs: number; key: string; retry: boolean }
  | { kind: 'total'; key: string; windowMs: number }
  | { kind: 'advance'; ms: number };

const amount = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.double({ min: 0, max: 12, noNaN: true }));
const window = fc.constantFrom(0, 1000, 7000, 60_000);
const rateOp = fc.record({
  type: fc.constant('rate' as const),
  key: fc.constantFrom('r1', 'r2'),
  limit: fc.constantFrom(0, 3, 7),
  periodMs: fc.constantFrom(10_000, 60_000),
  cost: fc.constantFrom(0, 1, 2),
});
// A window belongs to a key (as in every caller), so the stores' bucket widths agree.
const quotaOp = fc
  .record({
    key: fc.constantFrom(...KEYS),
    limit: fc.constantFrom(0, 10, 100.5),
    cost: amount,
    lease: fc.option(fc.record({ id: fc.constantFrom('L1', 'L2', 'L3'), ttlMs: fc.constantFrom(5000, 20_000) }), {
      nil: undefined,
    }),
  })
  .map(({ key, limit, cost, lease }): LimitOp => {
    const windowMs = [0, 7000, 60_000][KEYS.indexOf(key as (typeof KEYS)[number])] as number;
    return { type: 'quota', key, limit, windowMs, cost, ...(lease ? { lease } : {}) };
  });
/**
 * Redis expires keys on its own (real) clock, so no key may be left a few milliseconds from expiry
 * on the fake one: time moves in whole seconds from a fractional start, leases last 5 or 20 s, and
 * GCRA intervals (10 s / 3, 10 s / 7, 20 s, ...) leave at least 142 ms whenever any time is left.
 */
const START = 1_700_000_000_000.25;
const windowOf = (key: string) => [0, 7000, 60_000][KEYS.indexOf(key as (typeof KEYS)[number])] as number;
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('acquire' as const),
    // Distinct keys per acquire, as callers build them (MemoryStore plans a repeated new key on two
    // separate states, the last write winning; Redis keeps both writes).
    ops: fc.uniqueArray(fc.oneof(rateOp, quotaOp), { minLength: 1, maxLength: 4, selector: (op) => op.key }),
  }),
  fc
    .record({
      kind: fc.constant('settle' as const),
      lease: fc.constantFrom('L1', 'L2', 'L3'),
      amount,
      retry: fc.boolean(),
    })
    // A lease settles the same key each time: the settled marker lives beside the first key.
    .map((s) => {
      const key = KEYS[Number(s.lease.slice(1)) - 1] as string;
      return { ...s, key, windowMs: windowOf(key) };
    }),
  fc.record({ kind: fc.constant('total' as const), key: fc.constantFrom(...KEYS), windowMs: window }).map((s) => ({
    ...s,
    windowMs: windowOf(s.key),
  })),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 8 }).map((s) => s * 1000) }),
);

/** Replays random steps on a RedisStore (with `options`) and a MemoryStore on one clock: every answer must match. */
async function agreesWithMemory(options: { batchAcquire?: boolean }, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      const clock = new FakeClock(START);
      const memory = new MemoryStore({ clock });
      const redis = new RedisStore({ url: server.url, keyPrefix: `p${++n}:`, clock, ...options });
      try {
        for (const s of steps) {
          if (s.kind === 'advance') await clock.advance(s.ms);
          else if (s.kind === 'acquire') expect(await redis.acquire(s.ops)).toEqual(await memory.acquire(s.ops));
          else if (s.kind === 'total')
            expect(await redis.total(s.key, s.windowMs)).toBe(await memory.total(s.key, s.windowMs));
          else {
            const e = [{ key: s.key, windowMs: s.windowMs, amount: s.amount }];
            const o = { retry: s.retry };
            expect(await redis.settle(s.lease, e, o)).toEqual(await memory.settle(s.lease, e, o));
          }
        }
      } finally {
        await redis.close();
      }
    }),
    { numRuns },
  );
}

describe('the Lua scripts', () => {
  it('decide exactly as MemoryStore for any sequence of acquires, settlements and totals, fractions included', async () => {
    await agreesWithMemory({}, 150);
  });

  it('decide exactly as MemoryStore unbatched too (a lone rate op on RATE_LUA), for any sequence of steps', async () => {
    await agreesWithMemory({ batchAcquire: false }, 100);
  });

  it('store fractional times and amounts in full precision and whole ones as plain integers', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const prefix = `p${++n}:`;
    const store = new RedisStore({ url: server.url, keyPrefix: prefix, clock });
    await store.acquire([
      { type: 'rate', key: 'r', limit: 3, periodMs: 1000, cost: 1 },
      { type: 'quota', key: 'q', limit: 10, windowMs: 60_000, cost: 0.1 },
    ]);
    await store.increment('c', 0.2, 1000);
    const raw = new Redis(server.url);
    expect(await raw.get(`${prefix}r`)).toBe(String(1_700_000_000_000 + 1000 / 3));
    expect(await raw.hgetall(`${prefix}q`)).toEqual({ b1700000000000: '0.1' });
    expect(await store.increment('c', 0.1, 1000)).toBe(0.2 + 0.1);
    expect(await raw.get(`${prefix}c`)).toBe(String(0.2 + 0.1));
    expect(await store.total('q', 60_000)).toBe(0.1);
    raw.disconnect();
    await store.close();
  });
});
