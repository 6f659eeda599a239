import { EventHub, RelError, type RelEvents, seededRandom } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kindOf, observe, rateLimited, unavailable, untilAborted } from '../test/helpers';
import { RetryBudget } from './retry-budget';
import { retryPolicy } from './retry-policy';
import { withDeadline } from './signal-deadline';

function recorder(hub: EventHub) {
  const seen: { retry: RelEvents['retry'][]; giveUp: RelEvents['give-up'][]; hedge: RelEvents['hedge'][] } = {
    retry: [],
    giveUp: [],
    hedge: [],
  };
  hub.on('retry', (e) => seen.retry.push(e));
  hub.on('give-up', (e) => seen.giveUp.push(e));
  hub.on('hedge', (e) => seen.hedge.push(e));
  return seen;
}

describe('retryPolicy', () => {
  it('returns the first success without waiting and passes attempt numbers from 1', async () => {
    const clock = new FakeClock(0);
    const policy = retryPolicy({ clock });
    const seen: number[] = [];
    const value = await policy.execute(async (_s, attempt) => {
      seen.push(attempt);
      return 42;
    });
    expect(value).toBe(42);
    expect(seen).toEqual([1]);
    expect(clock.now()).toBe(0);
  });

  it('retries a transient failure after the backoff delay and succeeds', async () => {
    const clock = new FakeClock(0);
    const hub = new EventHub();
    const seen = recorder(hub);
    const policy = retryPolicy({
      clock,
      events: hub,
      backoff: { type: 'exponential', baseMs: 100, capMs: 1000, jitter: 'none' },
    });
    const starts: number[] = [];
    const run = observe(
      policy.execute(async (_s, attempt) => {
        starts.push(clock.now());
        if (attempt < 3) throw unavailable();
        return 'ok';
      }),
    );
    await clock.runAll();
    await run.promise;
    expect(run.value).toBe('ok');
    expect(starts).toEqual([0, 100, 300]);
    expect(seen.retry).toEqual([
      { requestId: undefined, attempt: 2, delayMs: 100, reason: 'provider_unavailable' },
      { requestId: undefined, attempt: 3, delayMs: 200, reason: 'provider_unavailable' },
    ]);
  });

  it('never retries a non-retryable failure such as context_length_exceeded', async () => {
    let calls = 0;
    const error = new RelError({ kind: 'context_length_exceeded' });
    const p = retryPolicy({ clock: new FakeClock(0) }).execute(async () => {
      calls++;
      throw error;
    });
    await expect(p).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the original error and a give-up event', async () => {
    const clock = new FakeClock(0);
    const hub = new EventHub();
    const seen = recorder(hub);
    const errors = [unavailable(), unavailable(), unavailable()];
    let calls = 0;
    const run = observe(
      retryPolicy({ clock, events: hub, maxAttempts: 3 }).execute(async () => {
        throw errors[calls++];
      }),
    );
    await clock.runAll();
    await run.promise;
    expect(calls).toBe(3);
    expect(run.error).toBe(errors[2]);
    expect(seen.giveUp).toEqual([{ requestId: undefined, attempts: 3, failure: errors[2]!.failure }]);
  });

  it('honours Retry-After instead of the backoff, clamped by maxRetryAfterMs', async () => {
    const clock = new FakeClock(0);
    const starts: number[] = [];
    const run = observe(
      retryPolicy({ clock, maxRetryAfterMs: 5_000, backoff: { type: 'decorrelated', baseMs: 10, capMs: 20 } }).execute(
        async (_s, attempt) => {
          starts.push(clock.now());
          if (attempt === 1) throw rateLimited(2_000);
          if (attempt === 2) throw rateLimited(60_000);
          return 'ok';
        },
      ),
    );
    await clock.runAll();
    await run.promise;
    expect(run.value).toBe('ok');
    expect(starts).toEqual([0, 2_000, 7_000]);
  });

  it('reads Retry-After from the headers of a plain error', async () => {
    const clock = new FakeClock(0);
    const starts: number[] = [];
    const run = observe(
      retryPolicy({ clock }).execute(async (_s, attempt) => {
        starts.push(clock.now());
        if (attempt === 1) throw Object.assign(new Error('429'), { status: 429, headers: { 'Retry-After': '3' } });
        return 'ok';
      }),
    );
    await clock.runAll();
    await run.promise;
    expect(starts).toEqual([0, 3_000]);
  });

  it('fails at once with rate_limited carrying the wait when Retry-After exceeds the remaining deadline', async () => {
    const clock = new FakeClock(0);
    const hub = new EventHub();
    const seen = recorder(hub);
    const signal = withDeadline(new AbortController().signal, 1_000);
    let calls = 0;
    const err = await retryPolicy({ clock, events: hub })
      .execute(async () => {
        calls++;
        throw Object.assign(new Error('429'), { status: 429, headers: { 'retry-after': '5' } });
      }, signal)
      .catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(clock.now()).toBe(0);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'rate_limited', retryAfterMs: 5_000 });
    expect(seen.giveUp).toHaveLength(1);
  });

  it('does not start a retry whose backoff cannot fit before the deadline', async () => {
    const clock = new FakeClock(0);
    const signal = withDeadline(new AbortController().signal, 250);
    const starts: number[] = [];
    const run = observe(
      retryPolicy({
        clock,
        maxAttempts: 10,
        minAttemptMs: 50,
        backoff: { type: 'exponential', baseMs: 100, capMs: 1000, jitter: 'none' },
      }).execute(async () => {
        starts.push(clock.now());
        throw unavailable();
      }, signal),
    );
    await clock.runAll();
    await run.promise;
    // 0, then +100 = 100; the next wait (200) would end at 300, past the deadline.
    expect(starts).toEqual([0, 100]);
    expect(kindOf(run.error)).toBe('provider_unavailable');
  });

  it('ends a backoff wait at once when the caller aborts, and never retries the abort', async () => {
    const clock = new FakeClock(0);
    const caller = new AbortController();
    let calls = 0;
    const run = observe(
      retryPolicy({ clock, backoff: { type: 'decorrelated', baseMs: 10_000, capMs: 10_000 } }).execute(async () => {
        calls++;
        throw unavailable();
      }, caller.signal),
    );
    await clock.advance(1);
    expect(clock.pending).toBe(1);
    caller.abort();
    await run.promise;
    expect(kindOf(run.error)).toBe('cancelled');
    expect(calls).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('does not start at all when the caller already aborted', async () => {
    const caller = new AbortController();
    caller.abort();
    let calls = 0;
    const err = await retryPolicy({ clock: new FakeClock(0) })
      .execute(async () => {
        calls++;
        return 1;
      }, caller.signal)
      .catch((e: unknown) => e);
    expect(calls).toBe(0);
    expect(kindOf(err)).toBe('cancelled');
  });

  it('does not retry an attempt that failed because the caller aborted it', async () => {
    const caller = new AbortController();
    let calls = 0;
    const run = observe(
      retryPolicy({ clock: new FakeClock(0) }).execute((signal) => {
        calls++;
        return untilAborted(signal);
      }, caller.signal),
    );
    caller.abort();
    await run.promise;
    expect(kindOf(run.error)).toBe('cancelled');
    expect(calls).toBe(1);
  });

  it('lets shouldRetry widen (a plain error) and narrow (a 503) the default decision', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const widened = observe(
      retryPolicy({
        clock,
        shouldRetry: ({ retryable, error }) => retryable || (error as Error).message === 'flaky',
      }).execute(async () => {
        if (++calls < 2) throw new Error('flaky');
        return 'ok';
      }),
    );
    await clock.runAll();
    await widened.promise;
    expect(widened.value).toBe('ok');

    let narrowCalls = 0;
    const narrowed = retryPolicy({ clock, shouldRetry: () => false }).execute(async () => {
      narrowCalls++;
      throw unavailable();
    });
    await expect(narrowed).rejects.toThrow('provider unavailable');
    expect(narrowCalls).toBe(1);
  });

  it('never retries an abort even when shouldRetry says yes', async () => {
    let calls = 0;
    const p = retryPolicy({ clock: new FakeClock(0), shouldRetry: () => true }).execute(async () => {
      calls++;
      throw new RelError({ kind: 'cancelled' });
    });
    await expect(p).rejects.toThrow('cancelled');
    expect(calls).toBe(1);
  });

  it('fails fast with the original failure when the retry budget is exhausted', async () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000, clock });
    const policy = retryPolicy({ clock, budget, maxAttempts: 5 });
    let calls = 0;
    const run = observe(
      policy.execute(async () => {
        calls++;
        throw unavailable();
      }),
    );
    await clock.runAll();
    await run.promise;
    // The floor allows one retry per 10 s window: two attempts, then fail fast.
    expect(calls).toBe(2);
    expect(kindOf(run.error)).toBe('provider_unavailable');
  });

  it('rejects a bad option at creation, naming the field', () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow(/"maxAttempts"/);
    expect(() => retryPolicy({ backoff: { type: 'exponential', baseMs: 5_000, capMs: 100 } })).toThrow(
      /"backoff.baseMs"/,
    );
    expect(() => retryPolicy({ hedge: { delayMs: -1 } })).toThrow(/"hedge.delayMs"/);
  });

  it('property: attempts never exceed maxAttempts and every wait lies in [0, cap]', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.constantFrom('exponential' as const, 'decorrelated' as const),
        fc.array(fc.constantFrom('503', '429', 'ok', '400', 'retry-after'), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer(),
        async (maxAttempts, base, extra, type, script, askedMs, maxRetryAfterMs, seed) => {
          const capMs = base + extra;
          const clock = new FakeClock(0);
          const hub = new EventHub();
          const delays: number[] = [];
          hub.on('retry', (e) => delays.push(e.delayMs));
          const backoff =
            type === 'exponential'
              ? { type, baseMs: base, capMs, jitter: 'full' as const }
              : { type, baseMs: base, capMs };
          const policy = retryPolicy({
            clock,
            events: hub,
            maxAttempts,
            backoff,
            maxRetryAfterMs,
            random: seededRandom(seed),
          });
          const failed: string[] = [];
          let calls = 0;
          const run = observe(
            policy.execute(async () => {
              const step = script[calls++ % script.length]!;
              if (step !== 'ok') failed.push(step);
              if (step === '503') throw unavailable();
              if (step === '429') throw rateLimited();
              if (step === 'retry-after') throw rateLimited(askedMs);
              if (step === '400') throw new RelError({ kind: 'invalid_request', status: 400 });
              return 'ok';
            }),
          );
          await clock.runAll();
          await run.promise;
          expect(calls).toBeLessThanOrEqual(maxAttempts);
          expect(delays.length).toBe(calls - 1);
          // The k-th wait follows the k-th failure: a Retry-After is honoured, clamped; otherwise the backoff.
          delays.forEach((d, k) => {
            if (failed[k] === 'retry-after') expect(d).toBe(Math.min(askedMs, maxRetryAfterMs));
            else {
              expect(d).toBeGreaterThanOrEqual(0);
              expect(d).toBeLessThanOrEqual(capMs);
            }
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: with hedging, each attempt slot starts at most one extra call', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.record({ ms: fc.integer({ min: 0, max: 500 }), ok: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        async (maxAttempts, hedgeDelayMs, script) => {
          const clock = new FakeClock(0);
          const policy = retryPolicy({
            clock,
            maxAttempts,
            hedge: { delayMs: hedgeDelayMs },
            backoff: { type: 'decorrelated', baseMs: 10, capMs: 10 },
          });
          let calls = 0;
          let live = 0;
          let maxLive = 0;
          const run = observe(
            policy.execute(async (signal) => {
              const step = script[calls++ % script.length]!;
              maxLive = Math.max(maxLive, ++live);
              try {
                await clock.sleep(step.ms, signal);
                if (!step.ok) throw unavailable();
                return 'ok';
              } finally {
                live--;
              }
            }),
          );
          await clock.runAll();
          await run.promise;
          expect(calls).toBeLessThanOrEqual(2 * maxAttempts);
          expect(maxLive).toBeLessThanOrEqual(2);
          expect(live).toBe(0);
          expect(clock.pending).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('retryPolicy default backoff', () => {
  it('property: a 429 storm without Retry-After gets at most 4 attempts in any 3 s, whatever maxAttempts and the jitter draws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 12 }),
        async (maxAttempts, draws) => {
          const clock = new FakeClock(0);
          let i = 0;
          const policy = retryPolicy({ clock, maxAttempts, random: () => draws[i++ % draws.length]! });
          const at: number[] = [];
          const run = observe(
            policy.execute(async () => {
              at.push(clock.now());
              throw rateLimited();
            }),
          );
          await clock.runAll();
          await run.promise;
          expect(kindOf(run.error)).toBe('rate_limited');
          expect(at).toHaveLength(maxAttempts);
          for (const t of at) expect(at.filter((u) => u >= t && u <= t + 3_000).length).toBeLessThanOrEqual(4);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('retryPolicy with a shared budget', () => {
  it('property: over any sequence of outcomes, retries stay within ratio x requests plus the floor', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom('ok', '503', '429'), { minLength: 1, maxLength: 6 }), {
          minLength: 20,
          maxLength: 60,
        }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (requests, ratio) => {
          const clock = new FakeClock(0);
          const budget = new RetryBudget({ ratio, minRetriesPerSecond: 0.1, windowMs: 60_000, clock });
          const hub = new EventHub();
          let retries = 0;
          hub.on('retry', () => retries++);
          const policy = retryPolicy({
            clock,
            budget,
            events: hub,
            maxAttempts: 6,
            backoff: { type: 'decorrelated', baseMs: 1, capMs: 5 },
          });
          let made = 0;
          for (const script of requests) {
            made++;
            let i = 0;
            const run = observe(
              policy.execute(async () => {
                const step = script[Math.min(i++, script.length - 1)];
                if (step === '503') throw unavailable();
                if (step === '429') throw rateLimited();
                return step;
              }),
            );
            await clock.runAll();
            await run.promise;
            // Everything ran inside one window, so the allowance is exact.
            expect(retries).toBeLessThanOrEqual(ratio * made + 6 + 1e-9);
          }
          const snap = await budget.snapshot();
          expect(snap.retries).toBe(retries);
          expect(snap.requests).toBe(requests.length);
          expect(retries).toBeLessThanOrEqual(ratio * requests.length + 6 + 1e-9);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('retryPolicy hedging', () => {
  it('starts one extra attempt after the delay, keeps the first success and aborts the other', async () => {
    const clock = new FakeClock(0);
    const hub = new EventHub();
    const seen = recorder(hub);
    const aborted: unknown[] = [];
    const policy = retryPolicy({ clock, events: hub, hedge: { delayMs: 100 } });
    const run = observe(
      policy.execute(async (signal, attempt) => {
        if (attempt === 1) {
          await untilAborted(signal).catch((e: unknown) => {
            aborted.push(e);
            throw e;
          });
        }
        await clock.sleep(50, signal);
        return `attempt ${attempt}`;
      }),
    );
    await clock.advance(100);
    expect(seen.hedge).toEqual([{ requestId: undefined, delayMs: 100 }]);
    await clock.advance(50);
    await run.promise;
    expect(run.value).toBe('attempt 2');
    expect(aborted).toHaveLength(1);
    expect(RelError.is(aborted[0]) && aborted[0].failure).toEqual({ kind: 'cancelled', reason: 'hedge lost' });
  });

  it('does not hedge an attempt that answers before the delay', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const run = observe(
      retryPolicy({ clock, hedge: { delayMs: 100 } }).execute(async (signal) => {
        calls++;
        await clock.sleep(40, signal);
        return 'fast';
      }),
    );
    await clock.runAll();
    await run.promise;
    expect(run.value).toBe('fast');
    expect(calls).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('does not hedge when the retry budget refuses, since hedges count against it', async () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0, clock });
    let calls = 0;
    const run = observe(
      retryPolicy({ clock, budget, hedge: { delayMs: 10 } }).execute(async (signal) => {
        calls++;
        await clock.sleep(100, signal);
        return 'slow';
      }),
    );
    await clock.runAll();
    await run.promise;
    expect(run.value).toBe('slow');
    expect(calls).toBe(1);
  });

  it("waits for the other attempt when one fails, and throws the first attempt's error when both fail", async () => {
    const clock = new FakeClock(0);
    const first = new RelError({ kind: 'invalid_request', status: 400, param: 'first' });
    const run = observe(
      retryPolicy({ clock, hedge: { delayMs: 10 } }).execute(async (signal, attempt) => {
        await clock.sleep(attempt === 1 ? 50 : 5, signal);
        throw attempt === 1 ? first : new RelError({ kind: 'invalid_request', status: 400, param: 'second' });
      }),
    );
    await clock.runAll();
    await run.promise;
    expect(run.error).toBe(first);
  });

  it('uses the observed p95 latency as the hedge delay once enough samples exist', async () => {
    const clock = new FakeClock(0);
    const hub = new EventHub();
    const seen = recorder(hub);
    const policy = retryPolicy({ clock, events: hub, hedge: { delayMs: 10_000, percentile: 0.95, minSamples: 20 } });
    for (let i = 1; i <= 20; i++) {
      const run = observe(policy.execute(async (signal) => clock.sleep(i * 10, signal)));
      await clock.runAll();
      await run.promise;
    }
    const slow = observe(policy.execute(async (signal) => clock.sleep(1_000, signal)));
    await clock.runAll();
    await slow.promise;
    expect(seen.hedge.at(-1)?.delayMs).toBe(190);
  });
});

describe('retryPolicy zero backoff', () => {
  const zero = { type: 'exponential', baseMs: 0, capMs: 0, jitter: 'none' } as const;

  it('retries at once after a zero delay: no timer is scheduled and no clock time passes', async () => {
    const clock = new FakeClock(0);
    const sleeps: number[] = [];
    const spy = {
      now: () => clock.now(),
      sleep: (ms: number, s?: AbortSignal) => {
        sleeps.push(ms);
        return clock.sleep(ms, s);
      },
    };
    let calls = 0;
    // Resolves without advancing the fake clock: a zero wait that slept would hang here.
    const value = await retryPolicy({ clock: spy, backoff: zero }).execute(async () => {
      if (++calls < 3) throw unavailable();
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(sleeps).toEqual([]);
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(0);
  });

  it('retries at once after a Retry-After of 0', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const value = await retryPolicy({ clock }).execute(async () => {
      if (++calls === 1) throw rateLimited(0);
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(calls).toBe(2);
    expect(clock.pending).toBe(0);
  });

  it('honours an abort that arrives while deciding on a zero-delay retry: no further attempt, cancelled', async () => {
    const clock = new FakeClock(0);
    const hub = new EventHub();
    const caller = new AbortController();
    // The retry event is emitted after the decision to retry and before the (skipped) wait.
    hub.on('retry', () => caller.abort(new Error('user left')));
    let calls = 0;
    const err = await retryPolicy({ clock, events: hub, backoff: zero })
      .execute(async () => {
        calls++;
        throw unavailable();
      }, caller.signal)
      .catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'cancelled', reason: 'user left' });
  });
});
