import { EventHub, type Middleware, RelError, RequestContext, seededRandom } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { completion, request, scripted } from '../test/helpers';
import { CircuitBreaker } from './circuit-breaker';
import { router } from './router';

const unavailable = { fail: { kind: 'provider_unavailable', status: 503 } } as const;

function context(clock = new FakeClock(0)) {
  const events = new EventHub();
  const emitted: string[] = [];
  events.on('fallback', (e) => emitted.push(`${e.from}->${e.to}:${e.reason}`));
  return { ctx: new RequestContext({ clock, events }), emitted, clock };
}

/** A tiny retry middleware, standing in for @rel/retry in unit tests. */
const retryTimes =
  (n: number): Middleware =>
  (next) =>
  async (req, ctx) => {
    for (let i = 1; ; i++) {
      try {
        return await next(req, ctx);
      } catch (e) {
        if (i >= n || !(RelError.is(e) && e.info.retryable)) throw e;
      }
    }
  };

describe('router', () => {
  it('sends the request to the first target with the model rewritten, and answers with its model', async () => {
    const primary = scripted([{ ok: true }]);
    const route = router({ targets: [{ name: 'primary', handler: primary, model: 'gpt-a' }] });
    const { ctx } = context();
    const res = await route(request, ctx);
    expect(primary.seen[0]?.model).toBe('gpt-a');
    expect(res.type === 'completion' && res.model).toBe('gpt-a-v1');
    expect(ctx.fallbacks).toEqual([]);
  });

  it('falls back on 503, records (from, to, reason) in the context and emits it', async () => {
    const primary = scripted([unavailable]);
    const backup = scripted([{ ok: true }]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a' },
        { name: 'backup', handler: backup, model: 'gpt-b' },
      ],
    });
    const { ctx, emitted } = context();
    const res = await route(request, ctx);
    expect(res.type === 'completion' && [res.model, res.usage]).toEqual([
      'gpt-b-v1',
      { inputTokens: 3, outputTokens: 5 },
    ]);
    expect(ctx.fallbacks).toEqual([{ from: 'primary', to: 'backup', reason: 'provider_unavailable', at: 0 }]);
    expect(emitted).toEqual(['primary->backup:provider_unavailable']);
  });

  it('names retries_exhausted when the target’s own middlewares retried before giving up', async () => {
    const primary = scripted([unavailable]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a', middlewares: [retryTimes(3)] },
        { name: 'backup', handler: scripted([{ ok: true }]), model: 'gpt-b' },
      ],
    });
    const { ctx } = context();
    await route(request, ctx);
    expect(primary.seen).toHaveLength(3);
    expect(ctx.fallbacks[0]?.reason).toBe('retries_exhausted');
  });

  it('propagates a content filter with the provider’s reason after exactly one attempt', async () => {
    const primary = scripted([{ fail: { kind: 'content_filtered', reason: 'sexual/minors' } }]);
    const backup = scripted([{ ok: true }]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a', middlewares: [retryTimes(3)] },
        { name: 'backup', handler: backup, model: 'gpt-b' },
      ],
    });
    const err = await route(request, context().ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'content_filtered', reason: 'sexual/minors' });
    expect(primary.seen).toHaveLength(1);
    expect(backup.seen).toHaveLength(0);
  });

  it('falls back on a content filter when the route is configured to', async () => {
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ fail: { kind: 'content_filtered' } }]), model: 'gpt-a' },
        { name: 'backup', handler: scripted([{ ok: true }]), model: 'gpt-b' },
      ],
      triggers: { contentFiltered: true },
    });
    const { ctx } = context();
    await route(request, ctx);
    expect(ctx.fallbacks[0]?.reason).toBe('content_filtered');
  });

  it('goes from a context overflow straight to the larger-context target, never the same model again', async () => {
    const primary = scripted([{ fail: { kind: 'context_length_exceeded' } }]);
    const sameModel = scripted([{ ok: true }]);
    const large = scripted([{ ok: true }]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a', contextWindow: 8_000 },
        { name: 'mirror', handler: sameModel, model: 'gpt-a', contextWindow: 8_000 },
        { name: 'large', handler: large, model: 'gpt-long', contextWindow: 1_000_000 },
      ],
      largerContext: 'large',
    });
    const { ctx } = context();
    const res = await route(request, ctx);
    expect(res.type === 'completion' && res.model).toBe('gpt-long-v1');
    expect([primary.seen.length, sameModel.seen.length, large.seen.length]).toEqual([1, 0, 1]);
    expect(ctx.fallbacks.map((f) => [f.from, f.to, f.reason])).toEqual([
      ['primary', 'large', 'context_length_exceeded'],
    ]);
  });

  it('without largerContext picks the next target with a larger window, and propagates when there is none', async () => {
    const overflow = { fail: { kind: 'context_length_exceeded' } } as const;
    const route = router({
      targets: [
        { name: 'a', handler: scripted([overflow]), model: 'm-a', contextWindow: 8_000 },
        { name: 'b', handler: scripted([{ ok: true }]), model: 'm-b', contextWindow: 4_000 },
        { name: 'c', handler: scripted([{ ok: true }]), model: 'm-c', contextWindow: 128_000 },
      ],
    });
    const res = await route(request, context().ctx);
    expect(res.type === 'completion' && res.model).toBe('m-c-v1');
    const lone = router({ targets: [{ name: 'a', handler: scripted([overflow]), model: 'm-a' }] });
    const err = await lone(request, context().ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('context_length_exceeded');
  });

  it('on a budget downgrade goes straight to downgradeTo with reason budget_downgrade', async () => {
    const primary = scripted([{ ok: true }]);
    const cheap = scripted([{ ok: true }]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-big' },
        { name: 'cheap', handler: cheap, model: 'gpt-mini' },
      ],
      downgradeTo: 'cheap',
    });
    const { ctx, emitted } = context();
    ctx.requestDowngrade('org:acme');
    const res = await route(request, ctx);
    expect(res.type === 'completion' && res.model).toBe('gpt-mini-v1');
    expect(primary.seen).toHaveLength(0);
    expect(emitted).toEqual(['primary->cheap:budget_downgrade']);
  });

  it('skips a target whose breaker is open, then probes it again after openMs', async () => {
    const clock = new FakeClock(0);
    const primary = scripted([unavailable, unavailable, { ok: true }]);
    const backup = scripted([{ ok: true }]);
    const route = router({
      clock,
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a', breaker: { consecutiveFailures: 2, openMs: 10_000 } },
        { name: 'backup', handler: backup, model: 'gpt-b' },
      ],
    });
    await route(request, context(clock).ctx);
    await route(request, context(clock).ctx);
    const { ctx } = context(clock);
    await route(request, ctx);
    expect(primary.seen).toHaveLength(2);
    expect(ctx.fallbacks[0]?.reason).toBe('circuit_open');
    await clock.advance(10_000);
    const res = await route(request, context(clock).ctx);
    expect(res.type === 'completion' && res.model).toBe('gpt-a-v1');
    expect(route.targets.get('primary')?.breaker?.state).toBe('closed');
  });

  it('when every breaker is open, tries the one that opened longest ago instead of failing', async () => {
    const clock = new FakeClock(0);
    const a = new CircuitBreaker({ name: 'a', clock, openMs: 60_000 });
    const b = new CircuitBreaker({ name: 'b', clock, openMs: 60_000 });
    await b.forceOpen();
    await b.reset();
    const bHandler = scripted([{ ok: true }]);
    const aHandler = scripted([{ ok: true }]);
    const route = router({
      clock,
      targets: [
        { name: 'a', handler: aHandler, model: 'm-a', breaker: a },
        { name: 'b', handler: bHandler, model: 'm-b', breaker: b },
      ],
    });
    // b opens first (at 0), a later (at 5 s); both still open at 6 s.
    for (let i = 0; i < 5; i++) b.record('pass', 'failure', 1);
    await clock.advance(5_000);
    for (let i = 0; i < 5; i++) a.record('pass', 'failure', 1);
    await clock.advance(1_000);
    const res = await route(request, context(clock).ctx);
    expect(res.type === 'completion' && res.model).toBe('m-b-v1');
    expect(aHandler.seen).toHaveLength(0);
  });

  it('never sends traffic to a force-opened target, even as a last resort', async () => {
    const handler = scripted([{ ok: true }]);
    const route = router({ targets: [{ name: 'only', handler, model: 'm' }] });
    await route.targets.get('only')?.breaker?.forceOpen();
    const err = await route(request, context().ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('circuit_open');
    expect(handler.seen).toHaveLength(0);
  });

  it('spreads traffic over a weighted group of equivalent deployments', async () => {
    const east = scripted([{ ok: true }]);
    const west = scripted([{ ok: true }]);
    const route = router({
      random: seededRandom(11),
      targets: [
        { name: 'east', handler: east, model: 'gpt-a', group: 'gpt-a', weight: 3 },
        { name: 'west', handler: west, model: 'gpt-a', group: 'gpt-a', weight: 1 },
      ],
    });
    for (let i = 0; i < 2_000; i++) await route(request, context().ctx);
    expect(east.seen.length / 2_000).toBeCloseTo(0.75, 1);
    expect(east.seen.length + west.seen.length).toBe(2_000);
  });

  it('a weighted deployment that fails falls back to its twin', async () => {
    const route = router({
      random: () => 0,
      targets: [
        { name: 'east', handler: scripted([unavailable]), model: 'gpt-a', group: 'g', weight: 1 },
        { name: 'west', handler: scripted([{ ok: true }]), model: 'gpt-a', group: 'g', weight: 1 },
      ],
    });
    const { ctx } = context();
    await route(request, ctx);
    expect(ctx.fallbacks.map((f) => `${f.from}->${f.to}`)).toEqual(['east->west']);
  });

  it('waits a short Retry-After on the same target when allowed, and falls back on one the caller cannot afford', async () => {
    const clock = new FakeClock(0);
    const short = scripted([{ fail: { kind: 'rate_limited', retryAfterMs: 500 } }, { ok: true }]);
    const backup = scripted([{ ok: true }]);
    const route = router({
      clock,
      triggers: { rateLimited: { waitUpToMs: 1_000 } },
      targets: [
        { name: 'primary', handler: short, model: 'gpt-a' },
        { name: 'backup', handler: backup, model: 'gpt-b' },
      ],
    });
    const p = route(request, context(clock).ctx);
    await clock.advance(500);
    const res = await p;
    expect(res.type === 'completion' && res.model).toBe('gpt-a-v1');
    const long = router({
      clock,
      triggers: { rateLimited: { waitUpToMs: 1_000 } },
      targets: [
        {
          name: 'primary',
          handler: scripted([{ fail: { kind: 'rate_limited', retryAfterMs: 30_000 } }]),
          model: 'gpt-a',
        },
        { name: 'backup', handler: backup, model: 'gpt-b' },
      ],
    });
    const { ctx } = context(clock);
    const res2 = await long(request, ctx);
    expect(res2.type === 'completion' && res2.model).toBe('gpt-b-v1');
    expect(ctx.fallbacks[0]?.reason).toBe('rate_limited');
  });

  it('does not fall back when the caller cancelled', async () => {
    const c = new AbortController();
    const backup = scripted([{ ok: true }]);
    const route = router({
      targets: [
        {
          name: 'primary',
          handler: async () => {
            c.abort();
            throw new RelError({ kind: 'cancelled' });
          },
          model: 'gpt-a',
        },
        { name: 'backup', handler: backup, model: 'gpt-b' },
      ],
    });
    const err = await route(request, new RequestContext({ signal: c.signal })).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('cancelled');
    expect(backup.seen).toHaveLength(0);
  });

  it('answers an already-cancelled request with a rejected promise, never a synchronous throw, and calls nothing', async () => {
    const c = new AbortController();
    c.abort();
    const primary = scripted([{ ok: true }]);
    const route = router({ targets: [{ name: 'primary', handler: primary, model: 'gpt-a' }] });
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = route(request, new RequestContext({ signal: c.signal }));
    }).not.toThrow();
    const err = await pending?.catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('cancelled');
    expect(primary.seen).toHaveLength(0);
  });

  it('throws the last typed failure when every target fails', async () => {
    const route = router({
      targets: [
        { name: 'a', handler: scripted([unavailable]), model: 'm-a' },
        { name: 'b', handler: scripted([{ fail: { kind: 'timeout', phase: 'total' } }]), model: 'm-b' },
      ],
    });
    const { ctx } = context();
    const err = await route(request, ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'timeout', phase: 'total' });
    expect(ctx.fallbacks.map((f) => f.reason)).toEqual(['provider_unavailable']);
  });

  it('rejects bad options naming the field', () => {
    const handler = scripted([{ ok: true }]);
    expect(() => router({ targets: [] })).toThrow(/router\.targets/);
    expect(() => router({ targets: [{ name: 'a', handler, model: 'm', weight: -1 }] })).toThrow(
      /router\.targets\.0\.weight/,
    );
    expect(() =>
      router({
        targets: [
          { name: 'a', handler, model: 'm' },
          { name: 'a', handler, model: 'n' },
        ],
      }),
    ).toThrow(/router\.targets\.1\.name/);
    expect(() => router({ targets: [{ name: 'a', handler, model: 'm' }], largerContext: 'zzz' })).toThrow(
      /router\.largerContext/,
    );
  });

  it('a completion is returned as is: usage and model of the target that answered', async () => {
    const answer = completion('gpt-b', 'hi', 9);
    const route = router({ targets: [{ name: 'b', handler: async () => answer, model: 'gpt-b' }] });
    expect(await route(request, context().ctx)).toBe(answer);
  });
});
