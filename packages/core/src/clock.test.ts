import { describe, expect, it } from 'vitest';
import { type Clock, setTimer, stopwatch, systemClock } from './clock';
import { RelError } from './rel-error';
import { FakeClock } from './testing/fake-clock';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('systemClock.sleep', () => {
  it('resolves after the wait and leaves no abort listener behind', async () => {
    const c = new AbortController();
    let listeners = 0;
    const add = c.signal.addEventListener.bind(c.signal);
    const remove = c.signal.removeEventListener.bind(c.signal);
    c.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      listeners++;
      add(...a);
    }) as typeof add;
    c.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      listeners--;
      remove(...a);
    }) as typeof remove;
    const start = Date.now();
    await systemClock.sleep(15, c.signal);
    expect(Date.now() - start).toBeGreaterThanOrEqual(14);
    expect(listeners).toBe(0);
  });

  it('rejects with the abort reason as soon as the signal aborts, and at once when already aborted', async () => {
    const c = new AbortController();
    const p = systemClock.sleep(60_000, c.signal);
    const reason = new RelError({ kind: 'timeout', phase: 'total' });
    c.abort(reason);
    await expect(p).rejects.toBe(reason);
    const err = await systemClock.sleep(1, c.signal).catch((e: unknown) => e);
    expect(err).toBe(reason);
    const plain = new AbortController();
    plain.abort(new Error('gone'));
    const cancelled = await systemClock.sleep(1, plain.signal).catch((e: unknown) => e);
    expect(RelError.is(cancelled) && cancelled.failure).toEqual({ kind: 'cancelled', reason: 'gone' });
  });

  it('never wakes an infinite wait (it only ends by abort), instead of firing after 1 ms', async () => {
    const c = new AbortController();
    let woke = false;
    const p = systemClock.sleep(Number.POSITIVE_INFINITY, c.signal).then(() => {
      woke = true;
    });
    await tick(20);
    expect(woke).toBe(false);
    c.abort();
    await expect(p).rejects.toSatisfy((e: unknown) => RelError.is(e) && e.failure.kind === 'cancelled');
  });

  it('does not fire a wait longer than the 24.8-day setTimeout limit after 1 ms', async () => {
    const c = new AbortController();
    let woke = false;
    const p = systemClock.sleep(2 ** 31 + 5, c.signal).then(() => {
      woke = true;
    });
    await tick(20);
    expect(woke).toBe(false);
    c.abort();
    await p.catch(() => {});
  });

  it('treats NaN and negative waits as zero', async () => {
    await systemClock.sleep(Number.NaN);
    await systemClock.sleep(-5);
  });
});

/** A clock with only the required members, sleeping on a FakeClock: the helpers must fall back. */
function bareClock(fake: FakeClock): Clock & { sleeps: number } {
  const bare = {
    sleeps: 0,
    now: () => fake.now(),
    sleep: (ms: number, signal?: AbortSignal) => {
      bare.sleeps++;
      return fake.sleep(ms, signal);
    },
  };
  return bare;
}

describe('setTimer', () => {
  it('fires once after the delay on a FakeClock, and a cancelled timer never fires', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    setTimer(clock, 100, () => fired.push(`a@${clock.now()}`));
    const cancelB = setTimer(clock, 50, () => fired.push('b'));
    cancelB();
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual(['a@100']);
    await clock.advance(1000);
    expect(fired).toEqual(['a@100']);
    expect(clock.pending).toBe(0);
  });

  it('falls back to sleep on a clock without setTimer, and cancelling releases the sleep', async () => {
    const fake = new FakeClock(0);
    const clock = bareClock(fake);
    let fired = 0;
    setTimer(clock, 10, () => fired++);
    const cancel = setTimer(clock, 10, () => fired++);
    expect(clock.sleeps).toBe(2);
    cancel();
    await fake.advance(0);
    expect(fake.pending).toBe(1);
    await fake.advance(10);
    expect(fired).toBe(1);
    expect(fake.pending).toBe(0);
    cancel();
  });

  it('fires on the system clock after a real delay, and not once cancelled', async () => {
    let fired = 0;
    setTimer(systemClock, 5, () => fired++);
    const cancel = setTimer(systemClock, 5, () => fired++);
    cancel();
    await tick(30);
    expect(fired).toBe(1);
  });
});

describe('stopwatch', () => {
  it('measures fake time on a FakeClock', async () => {
    const clock = new FakeClock(1_000);
    const elapsed = stopwatch(clock);
    await clock.advance(250);
    expect(elapsed()).toBe(250);
  });

  it('falls back to now() on a clock without monotonic', async () => {
    const fake = new FakeClock(0);
    const elapsed = stopwatch(bareClock(fake));
    await fake.advance(7);
    expect(elapsed()).toBe(7);
  });

  it('measures sub-millisecond real durations on the system clock', async () => {
    const elapsed = stopwatch();
    const first = elapsed();
    await tick(15);
    const later = elapsed();
    expect(first).toBeGreaterThanOrEqual(0);
    expect(later).toBeGreaterThanOrEqual(14);
    expect(Number.isInteger(later) && Number.isInteger(first)).toBe(false);
  });
});
