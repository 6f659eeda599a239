import { EventHub, MemoryStore, RelError } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker';

/** Two breakers with one key over one store: two gateway processes sharing Redis. */
function twoInstances(options: CircuitBreakerOptions = {}) {
  const clock = new FakeClock(0);
  const store = new MemoryStore({ clock });
  const events = new EventHub();
  const log: string[] = [];
  events.on('breaker-state', (e) => log.push(`${e.from}->${e.to}`));
  const make = () => new CircuitBreaker({ name: 'primary', key: 'gw:primary', clock, store, events, ...options });
  return { clock, store, a: make(), b: make(), log };
}

const fail = () => Promise.reject(new RelError({ kind: 'provider_unavailable', status: 503 }));

describe('CircuitBreaker with a shared store', () => {
  it('failures seen by one instance open the breaker for the other', async () => {
    const { a, b } = twoInstances({ consecutiveFailures: 4 });
    await a.execute(fail).catch(() => {});
    await b.execute(fail).catch(() => {});
    await a.execute(fail).catch(() => {});
    expect(await b.refresh()).toBe('closed');
    await b.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('open');
    const err = await a.execute(async () => 'never').catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('circuit_open');
  });

  it('counts the failure-rate window across instances', async () => {
    const { a, b } = twoInstances({ failureRate: { threshold: 0.5, windowMs: 10_000, minimumCalls: 4 } });
    await a.execute(fail).catch(() => {});
    await b.execute(async () => 'ok');
    await a.execute(async () => 'ok');
    expect(await a.refresh()).toBe('closed');
    await b.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('open');
  });

  it('lets exactly maxProbes probes through across instances, and one transition per change', async () => {
    const { a, b, clock, log } = twoInstances({ consecutiveFailures: 1, openMs: 1_000, halfOpen: { maxProbes: 2 } });
    await a.execute(fail).catch(() => {});
    await clock.advance(1_000);
    const admissions = await Promise.all([a.enter(), b.enter(), a.enter(), b.enter()]);
    expect(admissions.filter((x) => x === 'probe')).toHaveLength(2);
    expect(admissions.filter((x) => x === 'reject')).toHaveLength(2);
    await a.record('probe', 'success', 5);
    await b.record('probe', 'success', 5);
    expect(await a.refresh()).toBe('closed');
    expect(log).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
  });

  it('a fresh closed period starts with empty counters', async () => {
    const { a, b, clock } = twoInstances({ consecutiveFailures: 2, openMs: 1_000 });
    await a.execute(fail).catch(() => {});
    await a.execute(fail).catch(() => {});
    await clock.advance(1_000);
    await b.execute(async () => 'ok');
    expect(await a.refresh()).toBe('closed');
    await a.execute(fail).catch(() => {});
    expect(await b.refresh()).toBe('closed');
  });

  it('manual controls on one instance hold for the other', async () => {
    const { a, b, clock } = twoInstances({ consecutiveFailures: 1, openMs: 1_000 });
    await a.forceOpen();
    await clock.advance(10_000);
    expect(await b.enter()).toBe('reject');
    expect(b.forced).toBe(true);
    await b.forceClose();
    await a.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('closed');
    await a.reset();
    await b.execute(fail).catch(() => {});
    expect(await a.refresh()).toBe('open');
  });

  it('keeps its state in the store under its key', async () => {
    const { a, store } = twoInstances({ consecutiveFailures: 1 });
    await a.execute(fail).catch(() => {});
    expect(JSON.parse((await store.get('gw:primary:state')) ?? '{}')).toMatchObject({ s: 'open', at: 0 });
  });
});
