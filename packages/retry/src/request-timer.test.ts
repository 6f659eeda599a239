import { RelError } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { RequestTimer } from './request-timer';

const noop = () => {};

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('RequestTimer.race', () => {
  it('passes the raced value or error through while the timer runs', async () => {
    const clock = new FakeClock(0);
    const timer = new RequestTimer(clock, undefined, undefined, { totalMs: 1000 }, false, noop);
    await expect(timer.race(Promise.resolve(7))).resolves.toBe(7);
    const boom = new Error('boom');
    await expect(timer.race(Promise.reject(boom))).rejects.toBe(boom);
    timer.finish();
    expect(clock.pending).toBe(0);
  });

  it('rejects every race still waiting with the timeout, and only those', async () => {
    const clock = new FakeClock(0);
    const timer = new RequestTimer(clock, undefined, undefined, { totalMs: 1000 }, false, noop);
    // A thousand races that ended (a stream's chunks) before two that are still waiting.
    for (let i = 0; i < 1000; i++) await timer.race(Promise.resolve(i));
    const a = deferred<string>();
    const b = deferred<string>();
    const ra = timer.race(a.promise);
    const rb = timer.race(b.promise);
    const settled = Promise.allSettled([ra, rb]);
    await clock.advance(1000);
    const [sa, sb] = await settled;
    for (const s of [sa, sb]) {
      expect(s?.status).toBe('rejected');
      const reason = (s as PromiseRejectedResult).reason;
      expect(RelError.is(reason) && reason.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 1000 });
    }
    // The raced work finishing late changes nothing, and a new race fails at once.
    a.resolve('late');
    b.reject(new Error('late'));
    await expect(timer.race(Promise.resolve('after'))).rejects.toMatchObject({ failure: { kind: 'timeout' } });
  });

  it('a race that ended before the abort is not touched by it', async () => {
    const clock = new FakeClock(0);
    const parent = new AbortController();
    const timer = new RequestTimer(clock, parent.signal, undefined, {}, false, noop);
    const done = await timer.race(Promise.resolve('first'));
    const waiting = timer.race(new Promise<string>(noop));
    parent.abort(new Error('caller gave up'));
    expect(done).toBe('first');
    await expect(waiting).rejects.toMatchObject({ failure: { kind: 'cancelled', reason: 'caller gave up' } });
  });
});
