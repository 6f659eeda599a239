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
