import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory-store';
import { FakeClock } from './testing/fake-clock';

describe('MemoryStore', () => {
  it('rate: allows a burst of `limit`, then refuses with the wait until the next unit', async () => {
    const clock = new FakeClock(0);
    const s = new MemoryStore({ clock });
    const op = { type: 'rate', key: 'r', limit: 10, periodMs: 60_000, cost: 1 } as const;
    for (let i = 0; i < 10; i++) expect((await s.acquire([op])).allowed).toBe(true);
    const refused = await s.acquire([op]);
    expect(refused.allowed).toBe(false);
    expect(refused.results[0]?.retryAfterMs).toBe(6000);
    await clock.advance(6000);
    expect((await s.acquire([op])).allowed).toBe(true);
  });

  it('acquire is all or nothing across limits', async () => {
    const s = new MemoryStore({ clock: new FakeClock(0) });
    const a = { type: 'quota', key: 'a', limit: 10, windowMs: 1000, cost: 6 } as const;
    const b = { type: 'quota', key: 'b', limit: 5, windowMs: 1000, cost: 6 } as const;
    const r = await s.acquire([a, b]);
    expect(r.allowed).toBe(false);
    expect(r.results.map((x) => x.allowed)).toEqual([true, false]);
    expect(r.results[0]?.remaining).toBe(10);
    expect(await s.total('a', 1000)).toBe(0);
  });

  it('quota: holds a lease until settled with the actual amount, and expires a forgotten lease', async () => {
    const clock = new FakeClock(0);
    const s = new MemoryStore({ clock });
    const op = {
      type: 'quota',
      key: 'spend',
      limit: 100,
      windowMs: 60_000,
      cost: 40,
      lease: { id: 'L1', ttlMs: 5000 },
    } as const;
    expect((await s.acquire([op])).allowed).toBe(true);
    expect(await s.total('spend', 60_000)).toBe(40);
    expect(await s.settle('L1', [{ key: 'spend', windowMs: 60_000, amount: 25 }])).toEqual([25]);
    await s.acquire([{ ...op, lease: { id: 'L2', ttlMs: 5000 } }]);
    expect(await s.total('spend', 60_000)).toBe(65);
    await clock.advance(5001);
    expect(await s.total('spend', 60_000)).toBe(25);
    await clock.advance(60_000);
    expect(await s.total('spend', 60_000)).toBe(0);
  });

  it('compareAndSet, increment and TTL', async () => {
    const clock = new FakeClock(0);
    const s = new MemoryStore({ clock });
    expect(await s.compareAndSet('k', undefined, 'open', 1000)).toBe(true);
    expect(await s.compareAndSet('k', 'closed', 'x')).toBe(false);
    expect(await s.get('k')).toBe('open');
    expect(await s.increment('n', 2, 1000)).toBe(2);
    expect(await s.increment('n', 3, 1000)).toBe(5);
    await clock.advance(1000);
    expect(await s.get('k')).toBeUndefined();
    expect(await s.increment('n', 1, 1000)).toBe(1);
  });

  it('stays bounded by maxKeys', async () => {
    const s = new MemoryStore({ maxKeys: 100 });
    for (let i = 0; i < 1000; i++) await s.set(`k${i}`, 'v', 60_000);
    expect(s.size).toBe(100);
    expect(await s.get('k999')).toBe('v');
    expect(await s.get('k0')).toBeUndefined();
  });
});

describe('MemoryStore.compareAndSet', () => {
  it('lets exactly one of many concurrent swaps from the same value win', async () => {
    const s = new MemoryStore();
    await s.set('state', 'closed');
    const wins = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.compareAndSet('state', 'closed', `open-${i}`)),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
  });
});

describe('MemoryStore bounds', () => {
  it('reclaims expired keys through the cursor sweep before maxKeys is reached: no live key is ever evicted', async () => {
    const clock = new FakeClock(0);
    const maxKeys = 300;
    const ttl = 100;
    const s = new MemoryStore({ clock, maxKeys });
    // Long-lived keys written first sit at the head of the map and must not stall the sweep.
    await s.set('config', 'kept');
    await s.set('monthly', 'kept', 30 * 86_400_000);
    let largest = 0;
    // 5,000 distinct keys (16x maxKeys), one per tick, each living `ttl` ticks: ~100 live at any time.
    for (let i = 0; i < 5000; i++) {
      await s.set(`user:${i}`, 'v', ttl);
      largest = Math.max(largest, s.size);
      await clock.advance(1);
    }
    expect(largest).toBeLessThan(maxKeys);
    // Every key still within its TTL is present: eviction never had to take a live one.
    for (let i = 5000 - ttl + 1; i < 5000; i++) expect(await s.get(`user:${i}`)).toBe('v');
    expect(await s.get('config')).toBe('kept');
    expect(await s.get('monthly')).toBe('kept');
    // And the expired ones are gone from memory, not just unreadable.
    expect(s.size).toBeLessThanOrEqual(2 + ttl * 2);
  });

  it('reclaims expired quota and rate keys too (a million users do not pile up)', async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const s = new MemoryStore({ clock, maxKeys: 500 });
    let largest = 0;
    for (let i = 0; i < 4000; i++) {
      await s.acquire([
        { type: 'rate', key: `r:${i}`, limit: 10, periodMs: 1000, cost: 1 },
        { type: 'quota', key: `q:${i}`, limit: 10, windowMs: 1000, cost: 1, lease: { id: `L${i}`, ttlMs: 500 } },
      ]);
      if (i % 2) await s.settle(`L${i}`, [{ key: `q:${i}`, windowMs: 1000, amount: 1 }]);
      largest = Math.max(largest, s.size);
      await clock.advance(5);
    }
    expect(largest).toBeLessThan(500);
  });

  it('a release at capacity does not evict a live key (an already-expired entry is not written)', async () => {
    const clock = new FakeClock(0);
    const s = new MemoryStore({ clock, maxKeys: 2 });
    await s.set('a', '1');
    await s.set('b', '2');
    // Releasing an unknown lease on a concurrency key leaves nothing to keep.
    expect(await s.settle('gone', [{ key: 'conc', windowMs: 0, amount: 0 }])).toEqual([0]);
    expect(await s.get('a')).toBe('1');
    expect(await s.get('b')).toBe('2');
    expect(s.size).toBe(2);
  });
});
