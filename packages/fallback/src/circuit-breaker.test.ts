import { type BreakerState, EventHub, RelError } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker';

const unavailable = () => Promise.reject(new RelError({ kind: 'provider_unavailable', status: 503 }));
const ok = () => Promise.resolve('ok');

function setup(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new FakeClock(0);
  const events = new EventHub();
  const transitions: string[] = [];
  events.on('breaker-state', (e) => transitions.push(`${e.from}->${e.to}:${e.reason}`));
  const breaker = new CircuitBreaker({ name: 'primary', clock, events, ...options });
  return { clock, breaker, transitions };
}

async function failTimes(breaker: CircuitBreaker, n: number) {
  for (let i = 0; i < n; i++) await breaker.execute(unavailable).catch(() => {});
}

describe('CircuitBreaker', () => {
  it('opens after the configured consecutive failures and then refuses calls with circuit_open', async () => {
    const { breaker, transitions } = setup({ consecutiveFailures: 3 });
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    let called = false;
    const err = await breaker
      .execute(async () => {
        called = true;
      })
      .catch((e) => e);
    expect(called).toBe(false);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'circuit_open', target: 'primary', retryAfterMs: 30_000 });
    expect(transitions).toEqual(['closed->open:consecutive_failures']);
  });

  it('resets the consecutive count on a success', async () => {
    const { breaker } = setup({ consecutiveFailures: 3 });
    await failTimes(breaker, 2);
    await breaker.execute(ok);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('opens after 5 consecutive failures when no mode is configured', async () => {
    const { breaker } = setup();
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('decides on the failure rate only once the window holds the minimum number of calls', async () => {
    const { breaker, transitions } = setup({ failureRate: { threshold: 0.5, windowMs: 10_000, minimumCalls: 4 } });
    await failTimes(breaker, 3);
    expect(breaker.state).toBe('closed');
    await breaker.execute(ok);
    expect(breaker.state).toBe('open');
    expect(transitions).toEqual(['closed->open:failure_rate']);
  });

  it('forgets failures that slid out of the window', async () => {
    const { breaker, clock } = setup({ failureRate: { threshold: 0.5, windowMs: 10_000, minimumCalls: 4 } });
    await failTimes(breaker, 3);
    await clock.advance(11_000);
    await breaker.execute(ok);
    await breaker.execute(ok);
    await breaker.execute(ok);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('opens on the slow-call rate even when every call succeeds', async () => {
    const { breaker, clock, transitions } = setup({
      slowCallRate: { threshold: 0.5, slowCallMs: 1_000, windowMs: 60_000, minimumCalls: 2 },
    });
    const slow = async () => {
      await clock.sleep(1_500);
      return 'late';
    };
    const p = breaker.execute(slow);
    await clock.advance(1_500);
    await p;
    expect(breaker.state).toBe('closed');
    const q = breaker.execute(slow);
    await clock.advance(1_500);
    await q;
    expect(breaker.state).toBe('open');
    expect(transitions).toEqual(['closed->open:slow_call_rate']);
  });

  it('half-opens after openMs, admits at most maxProbes probes, and closes when they succeed', async () => {
    const { breaker, clock, transitions } = setup({
      consecutiveFailures: 1,
      openMs: 5_000,
      halfOpen: { maxProbes: 2 },
    });
    await failTimes(breaker, 1);
    await clock.advance(4_999);
    expect(breaker.enter()).toBe('reject');
    await clock.advance(1);
    expect(breaker.enter()).toBe('probe');
    expect(breaker.enter()).toBe('probe');
    expect(breaker.enter()).toBe('reject');
    expect(breaker.state).toBe('half_open');
    breaker.record('probe', 'success', 10);
    expect(breaker.state).toBe('half_open');
    breaker.record('probe', 'success', 10);
    expect(breaker.state).toBe('closed');
    expect(transitions).toEqual([
      'closed->open:consecutive_failures',
      'open->half_open:open_timeout_elapsed',
      'half_open->closed:probes_succeeded',
    ]);
  });

  it('reopens on a failed probe and waits openMs again', async () => {
    const { breaker, clock } = setup({ consecutiveFailures: 1, openMs: 5_000 });
    await failTimes(breaker, 1);
    await clock.advance(5_000);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(breaker.openedAt).toBe(5_000);
    await clock.advance(4_000);
    expect(breaker.enter()).toBe('reject');
  });

  it('reopens a half-open breaker whose probes never report within probeTimeoutMs, then probes again', async () => {
    const { breaker, clock, transitions } = setup({
      consecutiveFailures: 1,
      openMs: 1_000,
      halfOpen: { maxProbes: 1, probeTimeoutMs: 10_000 },
    });
    await failTimes(breaker, 1);
    await clock.advance(1_000);
    expect(breaker.enter()).toBe('probe'); // its outcome is never recorded
    await clock.advance(9_999);
    expect(breaker.enter()).toBe('reject');
    expect(breaker.state).toBe('half_open');
    await clock.advance(1);
    expect(breaker.enter()).toBe('reject');
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    expect(breaker.enter()).toBe('probe');
    expect(transitions.slice(1)).toEqual([
      'open->half_open:open_timeout_elapsed',
      'half_open->open:probe_timeout',
      'open->half_open:open_timeout_elapsed',
    ]);
  });

  it('frees the probe slot of a cancelled probe without counting it', async () => {
    const { breaker, clock } = setup({ consecutiveFailures: 1, openMs: 1_000 });
    await failTimes(breaker, 1);
    await clock.advance(1_000);
    const c = new AbortController();
    const p = breaker.execute(() => clock.sleep(100, c.signal), c.signal);
    c.abort();
    await p.catch(() => {});
    expect(breaker.state).toBe('half_open');
    expect(breaker.enter()).toBe('probe');
  });

  it('does not count cancellations or the caller’s own errors as failures', async () => {
    const { breaker } = setup({ consecutiveFailures: 1 });
    await breaker.execute(() => Promise.reject(new RelError({ kind: 'cancelled' }))).catch(() => {});
    await breaker.execute(() => Promise.reject(new RelError({ kind: 'invalid_request' }))).catch(() => {});
    await breaker.execute(() => Promise.reject(new RelError({ kind: 'content_filtered' }))).catch(() => {});
    expect(breaker.state).toBe('closed');
    await breaker.execute(() => Promise.reject(new Error('socket hang up'))).catch(() => {});
    expect(breaker.state).toBe('open');
  });

  it('forceOpen holds the breaker open past openMs, forceClose keeps it closed through failures, reset clears both', async () => {
    const { breaker, clock, transitions } = setup({ consecutiveFailures: 1, openMs: 1_000 });
    await breaker.forceOpen();
    await clock.advance(60_000);
    expect(breaker.enter()).toBe('reject');
    expect(breaker.retryAfterMs()).toBe(Number.POSITIVE_INFINITY);
    await breaker.forceClose();
    await failTimes(breaker, 5);
    expect(breaker.state).toBe('closed');
    expect(breaker.forced).toBe(true);
    await breaker.reset();
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(transitions).toEqual([
      'closed->open:forced_open',
      'open->closed:forced_closed',
      'closed->open:consecutive_failures',
    ]);
  });

  it('rejects bad options naming the field', () => {
    expect(() => new CircuitBreaker({ failureRate: { threshold: 2, windowMs: 1_000, minimumCalls: 1 } })).toThrow(
      /breaker\.failureRate\.threshold/,
    );
    expect(() => new CircuitBreaker({ halfOpen: { maxProbes: 1, successesToClose: 2 } })).toThrow(
      /breaker\.halfOpen\.successesToClose/,
    );
  });

  it('ignores the late outcome of a call admitted while closed once the breaker has opened', async () => {
    const { breaker } = setup({ consecutiveFailures: 1, openMs: 1_000 });
    const late = breaker.enter();
    await failTimes(breaker, 1);
    breaker.record(late as 'pass', 'success', 5);
    expect(breaker.state satisfies BreakerState).toBe('open');
  });
});
