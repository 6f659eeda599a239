import assert from 'node:assert/strict';
import type { Clock } from '../clock';
import { RelError } from '../rel-error';
import { type LimitOp, SETTLED_MEMORY_MS, type StateStore, bucketWidth } from '../store';
import { FakeClock } from './fake-clock';

/** What the conformance suite needs from a store implementation. */
export interface StoreConformanceTarget {
  /**
   * Creates a fresh, empty store. With `clock`, the store must read decision time from it (the
   * window and lease cases advance a `FakeClock`); without, it uses its own real time (the TTL
   * cases wait a few tens of milliseconds). Stores of one suite must not see each other's keys.
   */
  create(clock?: Clock): StateStore | Promise<StateStore>;
}

/** One conformance case: a name to report and a body that throws (node:assert) when the store deviates. */
export interface ConformanceCase {
  readonly name: string;
  run(): Promise<void>;
}

/** A minute-aligned start, so bucket boundaries fall on round numbers. */
const T0 = 1_700_000_040_000;
const MIN = 60_000;

/**
 * The behaviour every `StateStore` must share, bucket for bucket, as framework-neutral cases (they
 * assert with `node:assert`), so `MemoryStore`, `RedisStore` and any future store are held to the
 * same semantics: GCRA rates, sliding windows of `WINDOW_BUCKETS` buckets, leases that are settled,
 * released or expire, all-or-nothing acquire, and the key/value primitives.
 * @param target creates the store under test
 * @example
 * describe('MyStore conformance', () => {
 *   for (const c of storeConformanceCases({ create: (clock) => new MyStore({ clock }) })) it(c.name, c.run);
 * });
 */
export function storeConformanceCases(target: StoreConformanceTarget): readonly ConformanceCase[] {
  const withStore =
    (body: (store: StateStore, clock: FakeClock) => Promise<void>, real = false) =>
    async () => {
      const clock = new FakeClock(T0);
      const store = await target.create(real ? undefined : clock);
      try {
        await body(store, clock);
      } finally {
        await store.close();
      }
    };
  const cases: ConformanceCase[] = [];
  const add = (name: string, body: (store: StateStore, clock: FakeClock) => Promise<void>, real = false) =>
    cases.push({ name, run: withStore(body, real) });

  add('rate: admits a burst of `limit`, then refuses with the wait for the next unit', async (s, clock) => {
    const op: LimitOp = { type: 'rate', key: 'rate', limit: 10, periodMs: MIN, cost: 1 };
    for (let i = 0; i < 10; i++) {
      const r = await s.acquire([op]);
      assert.equal(r.allowed, true);
      assert.deepEqual(r.results[0], {
        key: 'rate',
        allowed: true,
        remaining: 9 - i,
        resetMs: 6000 * (i + 1),
        retryAfterMs: 0,
      });
    }
    const refused = await s.acquire([op]);
    assert.deepEqual(refused.results[0], {
      key: 'rate',
      allowed: false,
      remaining: 0,
      resetMs: MIN,
      retryAfterMs: 6000,
    });
    await clock.advance(5999);
    assert.equal((await s.acquire([op])).allowed, false);
    await clock.advance(1);
    assert.equal((await s.acquire([op])).allowed, true);
  });

  add('acquire: refuses one key named twice, naming the repeated op, and consumes nothing', async (s) => {
    const op: LimitOp = { type: 'quota', key: 'dup', limit: 10, windowMs: MIN, cost: 6 };
    const err = await s.acquire([op, { type: 'rate', key: 'other', limit: 5, periodMs: MIN, cost: 1 }, op]).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(RelError.is(err), 'a RelError');
    assert.deepEqual(err.failure, { kind: 'invalid_request', param: 'ops.2.key' });
    assert.equal(await s.total('dup', MIN), 0);
  });

  add('rate: honours `burst` and a cost above one', async (s, clock) => {
    const op: LimitOp = { type: 'rate', key: 'tok', limit: 100, periodMs: 1000, burst: 20, cost: 15 };
    assert.equal((await s.acquire([op])).allowed, true);
    const refused = await s.acquire([op]);
    assert.equal(refused.allowed, false);
    assert.equal(refused.results[0]?.remaining, 5);
    assert.equal(refused.results[0]?.retryAfterMs, 100);
    await clock.advance(100);
    assert.equal((await s.acquire([op])).allowed, true);
  });

  add('rate: a zero limit refuses with a finite wait', async (s) => {
    const r = await s.acquire([{ type: 'rate', key: 'z', limit: 0, periodMs: MIN, cost: 1 }]);
    assert.deepEqual(r.results[0], { key: 'z', allowed: false, remaining: 0, resetMs: 0, retryAfterMs: MIN });
  });

  add('acquire is all or nothing: a refused limit leaves every other limit untouched', async (s) => {
    const a: LimitOp = { type: 'quota', key: 'a', limit: 10, windowMs: MIN, cost: 6 };
    const b: LimitOp = { type: 'quota', key: 'b', limit: 5, windowMs: MIN, cost: 6 };
    const c: LimitOp = { type: 'rate', key: 'c', limit: 1, periodMs: MIN, cost: 1 };
    const r = await s.acquire([a, b, c]);
    assert.equal(r.allowed, false);
    assert.deepEqual(
      r.results.map((x) => [x.key, x.allowed, x.remaining]),
      [
        ['a', true, 10],
        ['b', false, 5],
        ['c', true, 1],
      ],
    );
    assert.equal(await s.total('a', MIN), 0);
    assert.equal((await s.acquire([c])).allowed, true);
  });

  add('quota: a sliding window forgets each bucket exactly one window after it', async (s, clock) => {
    const w = bucketWidth(MIN);
    const op = (cost: number): LimitOp => ({ type: 'quota', key: 'q', limit: 100, windowMs: MIN, cost });
    assert.equal((await s.acquire([op(10)])).results[0]?.remaining, 90);
    await clock.advance(30 * w + 500);
    const second = await s.acquire([op(5)]);
    assert.equal(second.results[0]?.remaining, 85);
    assert.equal(second.results[0]?.resetMs, 30 * w + MIN - (30 * w + 500));
    await clock.advance(MIN - (30 * w + 500) - 1);
    assert.equal(await s.total('q', MIN), 15);
    await clock.advance(1);
    assert.equal(await s.total('q', MIN), 5);
    await clock.advance(30 * w - 1);
    assert.equal(await s.total('q', MIN), 5);
    await clock.advance(1);
    assert.equal(await s.total('q', MIN), 0);
  });

  add('quota: a refusal waits until enough has left the window, and reset is when all has', async (s, clock) => {
    const op = (cost: number): LimitOp => ({ type: 'quota', key: 'q', limit: 10, windowMs: MIN, cost });
    await s.acquire([op(2)]);
    await clock.advance(10_000);
    await s.acquire([op(4)]);
    await clock.advance(10_000);
    await s.acquire([op(4)]);
    const refused = await s.acquire([op(5)]);
    assert.deepEqual(refused.results[0], {
      key: 'q',
      allowed: false,
      remaining: 0,
      resetMs: MIN,
      retryAfterMs: MIN - 10_000,
    });
    await clock.advance(MIN - 10_000 - 1);
    assert.equal((await s.acquire([op(5)])).allowed, false);
    await clock.advance(1);
    assert.equal((await s.acquire([op(5)])).allowed, true);
  });

  add('quota: a lease holds its amount until settled with the actual one', async (s) => {
    const lease = { id: 'L1', ttlMs: 5000 };
    const op: LimitOp = { type: 'quota', key: 'spend', limit: 100, windowMs: MIN, cost: 40, lease };
    const r = await s.acquire([op]);
    assert.equal(r.results[0]?.remaining, 60);
    assert.equal(r.results[0]?.resetMs, 5000);
    assert.equal(await s.total('spend', MIN), 40);
    assert.deepEqual(await s.settle('L1', [{ key: 'spend', windowMs: MIN, amount: 25 }]), [25]);
    assert.deepEqual(await s.settle('L1', [{ key: 'spend', windowMs: MIN, amount: 0 }]), [25]);
  });

  add('quota: a forgotten lease expires; settling it later still records the charge', async (s, clock) => {
    const op: LimitOp = {
      type: 'quota',
      key: 'spend',
      limit: 100,
      windowMs: MIN,
      cost: 70,
      lease: { id: 'L1', ttlMs: 5000 },
    };
    await s.acquire([op]);
    assert.equal((await s.acquire([{ ...op, lease: { id: 'L2', ttlMs: 5000 } }])).allowed, false);
    await clock.advance(4999);
    assert.equal(await s.total('spend', MIN), 70);
    await clock.advance(1);
    assert.equal(await s.total('spend', MIN), 0);
    assert.deepEqual(await s.settle('L1', [{ key: 'spend', windowMs: MIN, amount: 30 }]), [30]);
    assert.deepEqual(await s.settle('never-acquired', [{ key: 'other', windowMs: MIN, amount: 2 }]), [2]);
  });

  add('quota: a zero window counts live leases only (concurrency)', async (s, clock) => {
    const op = (id: string): LimitOp => ({
      type: 'quota',
      key: 'conc',
      limit: 2,
      windowMs: 0,
      cost: 1,
      lease: { id, ttlMs: 1000 },
    });
    assert.equal((await s.acquire([op('a')])).allowed, true);
    assert.equal((await s.acquire([op('b')])).allowed, true);
    const refused = await s.acquire([op('c')]);
    assert.equal(refused.allowed, false);
    assert.equal(refused.results[0]?.retryAfterMs, 1000);
    assert.deepEqual(await s.settle('a', [{ key: 'conc', windowMs: 0, amount: 1 }]), [1]);
    assert.equal((await s.acquire([op('c')])).allowed, true);
    await clock.advance(1000);
    assert.equal(await s.total('conc', 0), 0);
  });

  add('settle retry: skipped when the lease was settled in the last minute, applied otherwise', async (s, clock) => {
    const DAY = 86_400_000;
    const lease = { id: 'L', ttlMs: 5000 };
    await s.acquire([
      { type: 'quota', key: 'usd', limit: 100, windowMs: DAY, cost: 30, lease },
      { type: 'quota', key: 'conc', limit: 5, windowMs: 0, cost: 1, lease },
    ]);
    const entries = [
      { key: 'usd', windowMs: DAY, amount: 20 },
      { key: 'conc', windowMs: 0, amount: 0 },
    ];
    assert.deepEqual(await s.settle('L', entries), [20, 0]);
    // The first attempt was applied (its reply was lost): the retry changes nothing.
    assert.deepEqual(await s.settle('L', entries, { retry: true }), [20, 0]);
    await clock.advance(SETTLED_MEMORY_MS - 1);
    assert.deepEqual(await s.settle('L', entries, { retry: true }), [20, 0]);
    // A retry whose first attempt never arrived is applied, with or without a live lease.
    assert.deepEqual(await s.settle('M', [{ key: 'usd', windowMs: DAY, amount: 5 }], { retry: true }), [25]);
    assert.deepEqual(await s.settle('M', [{ key: 'usd', windowMs: DAY, amount: 5 }], { retry: true }), [25]);
    // Past the memory, a retry is applied again (documented limit).
    await clock.advance(1);
    assert.deepEqual(await s.settle('L', [{ key: 'usd', windowMs: DAY, amount: 1 }], { retry: true }), [26]);
  });

  add('settle: ends the lease on every key and returns each total in order', async (s) => {
    const lease = { id: 'L', ttlMs: 60_000 };
    await s.acquire([
      { type: 'quota', key: 'tokens', limit: 1000, windowMs: MIN, cost: 300, lease },
      { type: 'quota', key: 'conc', limit: 5, windowMs: 0, cost: 1, lease },
      { type: 'quota', key: 'usd', limit: 1, windowMs: 86_400_000, cost: 0.25, lease },
    ]);
    await s.acquire([{ type: 'quota', key: 'usd', limit: 1, windowMs: 86_400_000, cost: 0.1 }]);
    const totals = await s.settle('L', [
      { key: 'tokens', windowMs: MIN, amount: 120 },
      { key: 'conc', windowMs: 0, amount: 0 },
      { key: 'usd', windowMs: 86_400_000, amount: 0.2 },
    ]);
    assert.equal(totals[0], 120);
    assert.equal(totals[1], 0);
    assert.ok(Math.abs((totals[2] ?? 0) - 0.3) < 1e-12, `usd total ${totals[2]}`);
  });

  add('acquire: concurrent callers never pass a quota together', async (s) => {
    const op: LimitOp = { type: 'quota', key: 'race', limit: 20, windowMs: MIN, cost: 1 };
    const results = await Promise.all(Array.from({ length: 50 }, () => s.acquire([op])));
    assert.equal(results.filter((r) => r.allowed).length, 20);
    assert.equal(await s.total('race', MIN), 20);
  });

  add('keys are independent of each other', async (s) => {
    await s.acquire([{ type: 'quota', key: 'x', limit: 5, windowMs: MIN, cost: 5 }]);
    assert.equal((await s.acquire([{ type: 'quota', key: 'y', limit: 5, windowMs: MIN, cost: 5 }])).allowed, true);
    assert.equal(await s.total('z', MIN), 0);
  });

  add('get, set, compareAndSet and delete', async (s) => {
    assert.equal(await s.get('k'), undefined);
    assert.equal(await s.compareAndSet('k', undefined, 'open'), true);
    assert.equal(await s.compareAndSet('k', undefined, 'other'), false);
    assert.equal(await s.compareAndSet('k', 'closed', 'x'), false);
    assert.equal(await s.compareAndSet('k', 'open', 'half_open'), true);
    assert.equal(await s.get('k'), 'half_open');
    await s.set('k', 'closed');
    assert.equal(await s.get('k'), 'closed');
    await s.delete('k');
    assert.equal(await s.get('k'), undefined);
    await s.delete('never');
  });

  add('increment creates at zero, adds, and reads back through get', async (s) => {
    assert.equal(await s.increment('n', 2, 60_000), 2);
    assert.equal(await s.increment('n', 3, 60_000), 5);
    assert.equal(await s.increment('n', -1.5, 60_000), 3.5);
    assert.equal(await s.get('n'), '3.5');
  });

  add(
    'TTLs: set and compareAndSet values expire, and increment keeps the TTL from creation',
    async (s) => {
      await s.set('a', 'v', 40);
      assert.equal(await s.compareAndSet('b', undefined, 'v', 40), true);
      await s.set('forever', 'v');
      assert.equal(await s.increment('n', 1, 100), 1);
      await sleep(30);
      assert.equal(await s.increment('n', 1, 60_000), 2);
      await sleep(50);
      assert.equal(await s.get('a'), undefined);
      assert.equal(await s.get('b'), undefined);
      assert.equal(await s.compareAndSet('b', undefined, 'again', 1000), true);
      assert.equal(await s.get('forever'), 'v');
      await sleep(40);
      assert.equal(await s.increment('n', 1, 60_000), 1);
    },
    true,
  );

  add(
    'real time: a rate limit refuses, then admits again once its wait has passed',
    async (s) => {
      const op: LimitOp = { type: 'rate', key: 'rt', limit: 1, periodMs: 40, cost: 1 };
      assert.equal((await s.acquire([op])).allowed, true);
      const refused = await s.acquire([op]);
      assert.equal(refused.allowed, false);
      assert.ok((refused.results[0]?.retryAfterMs ?? 0) > 0 && (refused.results[0]?.retryAfterMs ?? 0) <= 40);
      await sleep((refused.results[0]?.retryAfterMs ?? 40) + 5);
      assert.equal((await s.acquire([op])).allowed, true);
    },
    true,
  );

  return cases;
}

/** A real sleep, only for the TTL cases where the store's own expiry must be observed. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
