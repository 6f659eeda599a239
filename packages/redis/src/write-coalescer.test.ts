import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store';
import { type RedisServerHandle, startRedisServer } from './testing/redis-server';
import { WriteCoalescer } from './write-coalescer';

let server: RedisServerHandle;
let n = 0;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A stand-in socket that records cork and uncork calls, in order. */
function recorder() {
  const calls: string[] = [];
  return { calls, cork: () => calls.push('cork'), uncork: () => calls.push('uncork') };
}

describe('WriteCoalescer', () => {
  it('holds writes until the max-th command, then again until the end of the turn', async () => {
    const s = recorder();
    const w = new WriteCoalescer(2);
    for (let i = 0; i < 3; i++) {
      w.hold(s);
      w.sent();
    }
    expect(s.calls).toEqual(['cork', 'uncork', 'cork']);
    await new Promise((r) => process.nextTick(r));
    expect(s.calls).toEqual(['cork', 'uncork', 'cork', 'uncork']);
  });

  it('releases what it holds on one socket before holding another (a reconnect)', () => {
    const a = recorder();
    const b = recorder();
    const w = new WriteCoalescer(8);
    w.hold(a);
    w.sent();
    w.hold(b);
    expect(a.calls).toEqual(['cork', 'uncork']);
    expect(b.calls).toEqual(['cork']);
    w.release();
    expect(b.calls).toEqual(['cork', 'uncork']);
  });
});

describe('RedisStore with batchAcquire off', () => {
  it('writes the acquires of one turn in groups of 8 commands, the last group at the end of the turn, each decided', async () => {
    const store = new RedisStore({ url: server.url, keyPrefix: `wc${++n}:`, batchAcquire: false });
    const op = (i: number) => ({ type: 'rate' as const, key: `k${i % 3}`, limit: 3, periodMs: 60_000, cost: 1 });
    await store.acquire([op(0)]);
    const socket = (store.client as Redis).stream as Socket;
    const pending = [];
    for (let i = 1; i <= 7; i++) pending.push(store.acquire([op(i)]));
    // Seven commands wait in the corked socket; the eighth lets all eight leave.
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(0);
    pending.push(store.acquire([op(8)]));
    expect(socket.writableCorked).toBe(0);
    pending.push(store.acquire([op(9)]));
    expect(socket.writableCorked).toBe(1);
    const results = await Promise.all(pending);
    expect(socket.writableCorked).toBe(0);
    // Keys k0, k1, k2 with a limit of 3 (k0 decided once before), in call order: k0's fourth is refused.
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, true, true, true, false]);
    expect(results.map((r) => r.results[0]?.remaining)).toEqual([2, 2, 1, 1, 1, 0, 0, 0, 0]);
    await store.close();
  });
});

describe('RedisStore script calls other than a batch', () => {
  it('leave in the same grouped writes as unbatched acquires: settle, total, compareAndSet, increment', async () => {
    const store = new RedisStore({ url: server.url, keyPrefix: `wc${++n}:` });
    await store.set('warm', '1');
    const socket = (store.client as Redis).stream as Socket;
    const pending: Promise<unknown>[] = [
      store.settle('lease-1', [{ key: '{o}:spend', windowMs: 60_000, amount: 3 }]),
      store.total('{o}:spend', 60_000),
      store.compareAndSet('flag', undefined, 'on'),
      store.increment('count', 2, 60_000),
    ];
    // Four calls written in one turn wait in the corked socket, and leave together at its end.
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(0);
    const [settled, total, swapped, count] = await Promise.all(pending);
    expect(socket.writableCorked).toBe(0);
    expect(settled).toEqual([3]);
    expect(total).toBe(3);
    expect(swapped).toBe(true);
    expect(count).toBe(2);
    await store.close();
  });
});
