/**
 * The router composed with the real @rel/retry (a devDependency; the package itself does not
 * depend on it): attempts are recorded against route targets, and `retries_exhausted` is told
 * apart correctly under hedging and concurrent requests.
 */
import { type Handler, type LlmResponse, RelError, RequestContext } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { retry } from '@rel/retry';
import { describe, expect, it } from 'vitest';
import { ROUTE_TARGET_ATTRIBUTE, router } from '../src/index';
import { routedTarget } from '../src/target';
import { completion, request } from './helpers';

const unavailable = () => new RelError({ kind: 'provider_unavailable', status: 503 });
const fast = { backoff: { type: 'decorrelated' as const, baseMs: 1, capMs: 1 } };

/** Runs `p` while moving the fake clock whenever only timers are left. */
async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  settled.catch(() => {});
  for (let i = 0; !done && i < 10_000; i++) {
    await new Promise((r) => setImmediate(r));
    if (!done && clock.pending > 0) await clock.runAll();
  }
  return settled;
}

describe('router with @rel/retry', () => {
  it('records every attempt against the route target that made it, not the model', async () => {
    const clock = new FakeClock(0);
    let primaryCalls = 0;
    const primary: Handler = async () => {
      primaryCalls++;
      throw unavailable();
    };
    const backup: Handler = async (req) => completion(req.model);
    // Both targets serve the same model: only the target name tells their attempts apart.
    const route = router({
      clock,
      targets: [
        { name: 'east', handler: primary, model: 'gpt-4o', middlewares: [retry({ ...fast, maxAttempts: 2 })] },
        { name: 'west', handler: backup, model: 'gpt-4o', middlewares: [retry(fast)] },
      ],
    });
    const ctx = new RequestContext({ clock });
    const res = await drive(clock, route(request, ctx));
    expect(res.type).toBe('completion');
    expect(primaryCalls).toBe(2);
    expect(ctx.attempts.map((a) => [a.target, a.model, a.number, a.outcome])).toEqual([
      ['east', 'gpt-4o', 1, 'failure'],
      ['east', 'gpt-4o', 2, 'failure'],
      ['west', 'gpt-4o', 3, 'success'],
    ]);
    // The attribute is the router's for the duration of a target call only.
    expect(ctx.getAttribute(ROUTE_TARGET_ATTRIBUTE)).toBeUndefined();
  });

  it('an explicit retry({ target }) wins over the router', async () => {
    const clock = new FakeClock(0);
    const route = router({
      clock,
      targets: [
        {
          name: 'east',
          handler: async (req) => completion(req.model),
          model: 'gpt-4o',
          middlewares: [retry({ target: 'azure-east' })],
        },
      ],
    });
    const ctx = new RequestContext({ clock });
    await drive(clock, route(request, ctx));
    expect(ctx.attempts.map((a) => a.target)).toEqual(['azure-east']);
  });

  it('names retries_exhausted only when the target called its provider more than once', async () => {
    const clock = new FakeClock(0);
    const route = (maxAttempts: number) =>
      router({
        clock,
        targets: [
          {
            name: 'primary',
            handler: async () => {
              throw unavailable();
            },
            model: 'gpt-a',
            middlewares: [retry({ ...fast, maxAttempts })],
          },
          { name: 'backup', handler: async (req) => completion(req.model), model: 'gpt-b', breaker: false },
        ],
      });
    const once = new RequestContext({ clock });
    await drive(clock, route(1)(request, once));
    expect(once.fallbacks.map((f) => f.reason)).toEqual(['provider_unavailable']);
    const thrice = new RequestContext({ clock });
    await drive(clock, route(3)(request, thrice));
    expect(thrice.fallbacks.map((f) => f.reason)).toEqual(['retries_exhausted']);
  });

  it('a hedged target whose two attempts both fail counts both calls (retries_exhausted)', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const slowFail: Handler = async (_req, ctx) => {
      calls++;
      await ctx.clock.sleep(100, ctx.signal);
      throw unavailable();
    };
    const route = router({
      clock,
      targets: [
        {
          name: 'primary',
          handler: slowFail,
          model: 'gpt-a',
          middlewares: [retry({ maxAttempts: 1, hedge: { delayMs: 10 } })],
        },
        { name: 'backup', handler: async (req) => completion(req.model), model: 'gpt-b' },
      ],
    });
    const ctx = new RequestContext({ clock });
    await drive(clock, route(request, ctx));
    expect(calls).toBe(2);
    expect(ctx.attempts.filter((a) => a.target === 'primary').map((a) => a.hedge ?? false)).toEqual([false, true]);
    expect(ctx.fallbacks.map((f) => f.reason)).toEqual(['retries_exhausted']);
  });

  it('concurrent requests count their own provider calls, and nothing is left behind', async () => {
    const clock = new FakeClock(0);
    // Request i fails i times before answering, so each request's count is its own.
    const failuresLeft = new Map<string, number>();
    const handler: Handler = async (_req, ctx): Promise<LlmResponse> => {
      const left = failuresLeft.get(ctx.requestId) ?? 0;
      await ctx.clock.sleep(5, ctx.signal);
      if (left > 0) {
        failuresLeft.set(ctx.requestId, left - 1);
        throw unavailable();
      }
      return completion('gpt-a');
    };
    const target = routedTarget(
      { name: 'primary', handler, model: 'gpt-a', middlewares: [retry({ ...fast, maxAttempts: 4 })], breaker: false },
      { name: 'primary', model: 'gpt-a', weight: 1, supportsPrefill: false },
      { clock, events: undefined, store: undefined },
    );
    const contexts = Array.from({ length: 12 }, (_, i) => {
      const ctx = new RequestContext({ clock, requestId: `req_${i}` });
      failuresLeft.set(ctx.requestId, i % 4);
      return ctx;
    });
    const results = await drive(clock, Promise.all(contexts.map((ctx) => target.call(request, ctx))));
    expect(results.map((r) => [r.ok, r.calls])).toEqual(contexts.map((_, i) => [true, (i % 4) + 1]));
    expect(target.inFlightRequests).toBe(0);
  });
  it('keeps one call count per request in flight, through the routed requests as well as call', async () => {
    const clock = new FakeClock(0);
    let calls = 0;
    const handler: Handler = async (req, ctx) => {
      // The first call of every request fails once, so each request's own count is 2.
      const first = !ctx.getAttribute('seen');
      ctx.setAttribute('seen', true);
      calls++;
      await ctx.clock.sleep(5, ctx.signal);
      if (first) throw unavailable();
      return completion(req.model);
    };
    const target = routedTarget(
      { name: 'primary', handler, model: 'gpt-a', middlewares: [retry({ ...fast, maxAttempts: 2 })], breaker: false },
      { name: 'primary', model: 'gpt-a', weight: 1, supportsPrefill: false },
      { clock, events: undefined, store: undefined },
    );
    const one = target.call(request, new RequestContext({ clock, requestId: 'req_a' }));
    expect(target.inFlightRequests).toBe(1);
    const rest = [
      target.call(request, new RequestContext({ clock, requestId: 'req_b' })),
      target.call(request, new RequestContext({ clock, requestId: 'req_c' })),
    ];
    expect(target.inFlightRequests).toBe(3);
    const results = await drive(clock, Promise.all([one, ...rest]));
    expect(results.map((r) => [r.ok, r.calls])).toEqual([
      [true, 2],
      [true, 2],
      [true, 2],
    ]);
    expect(calls).toBe(6);
    expect(target.inFlightRequests).toBe(0);
    const again = await drive(clock, target.call(request, new RequestContext({ clock, requestId: 'req_b' })));
    expect([again.ok, again.calls, target.inFlightRequests]).toEqual([true, 2, 0]);
  });
});
