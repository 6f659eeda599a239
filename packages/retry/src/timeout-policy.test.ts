import { EventHub, RelError, type RelEvents } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { observe, untilAborted } from '../test/helpers';
import { deadlineOf, withDeadline } from './signal-deadline';
import { timeoutPolicy } from './timeout-policy';

describe('timeoutPolicy', () => {
  it('returns the value of a call that finishes in time and leaves no timer behind', async () => {
    const clock = new FakeClock(0);
    const value = await timeoutPolicy({ totalMs: 100, clock }).execute(async () => 'ok');
    expect(value).toBe('ok');
    expect(clock.pending).toBe(0);
  });

  it('aborts the call at the limit with a timeout reason and emits a timeout event', async () => {
    const clock = new FakeClock(0);
    const events = new EventHub();
    const seen: RelEvents['timeout'][] = [];
    events.on('timeout', (e) => seen.push(e));
    let inner: AbortSignal | undefined;
    const run = observe(
      timeoutPolicy({ totalMs: 100, clock, events, operation: 'embed' }).execute((signal) => {
        inner = signal;
        return untilAborted(signal);
      }),
    );
    await clock.advance(100);
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 100 });
    expect(inner?.reason).toBe(run.error);
    expect(seen).toEqual([{ operation: 'embed', phase: 'total', limitMs: 100 }]);
  });

  it("reports the caller's cancel as cancelled, not as a timeout", async () => {
    const clock = new FakeClock(0);
    const caller = new AbortController();
    const run = observe(timeoutPolicy({ totalMs: 100, clock }).execute((s) => untilAborted(s), caller.signal));
    caller.abort(new Error('user left'));
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure).toEqual({ kind: 'cancelled', reason: 'user left' });
    expect(clock.pending).toBe(0);
  });

  it('attaches its deadline to the signal it passes, and never widens an inherited one', async () => {
    const clock = new FakeClock(0);
    const policy = timeoutPolicy({ totalMs: 1_000, clock });
    expect(await policy.execute(async (s) => deadlineOf(s))).toBe(1_000);
    const outer = withDeadline(new AbortController().signal, 300);
    expect(await policy.execute(async (s) => deadlineOf(s), outer)).toBe(300);
  });

  it('nests: an outer timeout aborts an inner call that has a longer limit', async () => {
    const clock = new FakeClock(0);
    const outer = timeoutPolicy({ totalMs: 100, clock });
    const inner = timeoutPolicy({ totalMs: 1_000, clock });
    const run = observe(outer.execute((s) => inner.execute((s2) => untilAborted(s2), s)));
    await clock.advance(100);
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 100 });
  });

  it('turns a synchronous throw into a rejection and cleans up', async () => {
    const clock = new FakeClock(0);
    await expect(
      timeoutPolicy({ totalMs: 100, clock }).execute(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(clock.pending).toBe(0);
  });

  it('makes no signal for a function that declares no parameter: it gets the caller signal as is', async () => {
    const clock = new FakeClock(0);
    const policy = timeoutPolicy({ totalMs: 100, clock });
    const caller = new AbortController();
    const handed: unknown[] = [];
    // Rest parameters give the function length 0: what it receives is the caller's own signal.
    await policy.execute((...args: unknown[]) => Promise.resolve(handed.push(args[0])), caller.signal);
    await policy.execute((...args: unknown[]) => Promise.resolve(handed.push(args[0])));
    expect(handed[0]).toBe(caller.signal);
    expect(handed[1]).toBeInstanceOf(AbortSignal);
    expect((handed[1] as AbortSignal).aborted).toBe(false);
    expect(deadlineOf(caller.signal)).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('still rejects a function that declares no parameter at the limit, and on the caller cancel', async () => {
    const clock = new FakeClock(0);
    const policy = timeoutPolicy({ totalMs: 100, clock });
    const late = observe(policy.execute(() => new Promise<never>(() => {})));
    await clock.advance(100);
    await late.promise;
    expect(RelError.is(late.error) && late.error.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 100 });
    const caller = new AbortController();
    const cancelled = observe(policy.execute(() => new Promise<never>(() => {}), caller.signal));
    caller.abort(new Error('user left'));
    await cancelled.promise;
    expect(RelError.is(cancelled.error) && cancelled.error.failure).toEqual({ kind: 'cancelled', reason: 'user left' });
    expect(clock.pending).toBe(0);
  });

  it('rejects a bad option at creation, naming the field', () => {
    expect(() => timeoutPolicy({ totalMs: 0 })).toThrow(/"totalMs"/);
  });
});

describe('timeoutPolicy on the system clock', () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('cancels its timer when the call succeeds and never aborts the signal it handed out', async () => {
    const policy = timeoutPolicy({ totalMs: 60_000 });
    const before = timers();
    const signals: AbortSignal[] = [];
    for (let i = 0; i < 50; i++) {
      const value = await policy.execute(async (signal) => {
        signals.push(signal);
        return i;
      });
      expect(value).toBe(i);
    }
    expect(timers()).toBe(before);
    expect(signals.every((s) => !s.aborted)).toBe(true);
  });

  it('cancels its timer when the call fails', async () => {
    const policy = timeoutPolicy({ totalMs: 60_000 });
    const before = timers();
    await expect(policy.execute(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(timers()).toBe(before);
  });

  it('still fires at the limit on real time and aborts the signal with the timeout', async () => {
    let inner: AbortSignal | undefined;
    const err = await timeoutPolicy({ totalMs: 20 })
      .execute((signal) => {
        inner = signal;
        return untilAborted(signal);
      })
      .catch((e: unknown) => e);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 20 });
    expect(inner?.aborted).toBe(true);
  });
});
