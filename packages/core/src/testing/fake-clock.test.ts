import { describe, expect, it } from 'vitest';
import { RelError } from '../rel-error';
import { FakeClock } from './fake-clock';

describe('FakeClock', () => {
  it('wakes sleepers in deadline order only when time is advanced past them', async () => {
    const clock = new FakeClock(0);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    await clock.advance(99);
    expect(woke).toEqual([]);
    await clock.advance(250);
    expect(woke).toEqual(['a@100', 'b@300']);
    expect(clock.now()).toBe(349);
  });

  it('wakes a sleeper that sleeps again within the same advance', async () => {
    const clock = new FakeClock(0);
    const times: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        times.push(clock.now());
      }
    })();
    await clock.advance(35);
    expect(times).toEqual([10, 20, 30]);
  });

  it('rejects a sleep with the abort reason and forgets the timer', async () => {
    const clock = new FakeClock(0);
    const c = new AbortController();
    const p = clock.sleep(1000, c.signal);
    const reason = new RelError({ kind: 'timeout', phase: 'idle' });
    c.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
  });

  it('rejects at once when the signal is already aborted, as cancelled', async () => {
    const clock = new FakeClock(0);
    const c = new AbortController();
    c.abort();
    const err = await clock.sleep(5, c.signal).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('cancelled');
  });

  it('runAll advances until nobody sleeps', async () => {
    const clock = new FakeClock(0);
    let done = false;
    void clock.sleep(5000).then(() => {
      done = true;
    });
    await clock.runAll();
    expect(done).toBe(true);
    expect(clock.now()).toBe(5000);
  });

  it('never wakes an infinite sleep, not even with runAll, and time stays finite', async () => {
    const clock = new FakeClock(0);
    const c = new AbortController();
    let woke = false;
    const forever = clock.sleep(Number.POSITIVE_INFINITY, c.signal).then(() => {
      woke = true;
    });
    void clock.sleep(50);
    await clock.runAll();
    expect(clock.now()).toBe(50);
    await clock.advance(1e15);
    expect(woke).toBe(false);
    expect(clock.pending).toBe(1);
    c.abort();
    await forever.catch(() => {});
    expect(clock.pending).toBe(0);
  });

  it('treats a NaN sleep as zero, like setTimeout', async () => {
    const clock = new FakeClock(0);
    let woke = false;
    void clock.sleep(Number.NaN).then(() => {
      woke = true;
    });
    await clock.advance(0);
    expect(woke).toBe(true);
    expect(clock.now()).toBe(0);
  });

  it('refuses to move time backwards or by a non-finite amount, naming the value', async () => {
    const clock = new FakeClock(100);
    await expect(clock.advance(-1)).rejects.toThrow(/advance\(-1\)/);
    await expect(clock.advance(Number.NaN)).rejects.toThrow(RangeError);
    await expect(clock.advance(Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    expect(clock.now()).toBe(100);
  });
});
