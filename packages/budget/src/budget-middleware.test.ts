import {
  EventHub,
  type Handler,
  MemoryStore,
  RelError,
  RequestContext,
  type StreamChunk,
  type Usage,
  collectStream,
  compose,
} from '@rel/core';
import { FakeClock, overlappingCalls } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { FaultyStore, answering, request, streaming } from '../test/helpers';
import { budget } from './budget-middleware';
import { type BudgetAlert, type BudgetOptions, BudgetPolicy } from './budget-policy';

const prices = { 'test-model': { inputPerMTok: 1000, outputPerMTok: 2000 } };
const usage = { inputTokens: 40, outputTokens: 50 }; // $0.04 + $0.10 = $0.14
const DAY_KEY = 'budget:{org:acme}:org:acme:spendPerDayUsd';

function setup(extra: Partial<BudgetOptions> = {}) {
  const clock = new FakeClock(1_700_000_040_000);
  const store = new MemoryStore({ clock });
  const policy = new BudgetPolicy({
    store,
    clock,
    prices,
    tiers: { free: { rpm: 1000, concurrent: 5, spendPerDayUsd: 1 } },
    logger: { warn: () => {} },
    ...extra,
  });
  const ctx = (principal = { orgId: 'acme' }, events?: EventHub) =>
    new RequestContext({ principal, clock, ...(events ? { events } : {}) });
  return { clock, store, policy, ctx };
}

describe('budget middleware', () => {
  it('settles a completion with its actual usage, records the cost and reports what remains', async () => {
    const { store, policy, ctx } = setup();
    const c = ctx();
    await budget(policy)(answering(usage))(request(), c);
    expect(c.cost.totalUsd).toBeCloseTo(0.14, 10);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
    expect(c.getAttribute('rel.budget.remaining')).toBeCloseTo(0.86, 10);
    expect(c.getAttribute('rel.budget.decision')).toBe('allowed');
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(0);
  });

  it('holds the estimate while the call runs: input estimate plus maxTokens, priced', async () => {
    const { store, policy, ctx } = setup();
    let held = 0;
    const handler = budget(policy)(async (req, c) => {
      held = await store.total(DAY_KEY, 86_400_000);
      return answering(usage)(req, c);
    });
    await handler(request('test-model', 100), ctx());
    const r = await policy.reserve(request('test-model', 100), ctx());
    expect(held).toBe(Math.ceil(r.estimate.costUsd * 1e6));
    expect(r.estimate.outputTokens).toBe(100);
    expect(r.estimate.costUsd).toBeCloseTo((r.estimate.inputTokens * 1000 + 100 * 2000) / 1e6, 10);
    await policy.release(r);
  });

  it('an admitted reservation carries what each limit has left and when it resets', async () => {
    const { policy, ctx } = setup({ tiers: { free: { rpm: 10, concurrent: 3, spendPerDayUsd: 1 } } });
    const r = await policy.reserve(request(), ctx());
    const cost = Math.ceil(r.estimate.costUsd * 1e6) / 1e6;
    expect(r.limits).toEqual([
      { scope: 'org:acme', limit: 'rpm', remaining: 9, resetMs: 6000 },
      { scope: 'org:acme', limit: 'concurrent', remaining: 2, resetMs: 600_000 },
      { scope: 'org:acme', limit: 'spendPerDayUsd', remaining: expect.closeTo(1 - cost, 9), resetMs: 600_000 },
    ]);
    expect(r.remainingUsd).toBeCloseTo(1 - cost, 9);
    await policy.release(r);
  });

  it('settles only the reservation object its own policy returned: a copy or another policy ends nothing', async () => {
    const { store, policy, ctx } = setup();
    const other = new BudgetPolicy({ store, prices, tiers: { free: { concurrent: 5 } }, logger: { warn: () => {} } });
    const r = await policy.reserve(request(), ctx());
    expect(Object.keys(r)).toEqual(['id', 'model', 'scopes', 'estimate', 'decision', 'remainingUsd', 'limits']);
    expect(JSON.parse(JSON.stringify(r))).toEqual({ ...r, remainingUsd: r.remainingUsd });
    const held = await store.total(DAY_KEY, 86_400_000);
    expect(held).toBeGreaterThan(0);
    await policy.settle({ ...r }, usage);
    await other.settle(r, usage);
    await other.release(r);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(held);
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(1);
    await policy.settle(r, usage);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(0);
  });

  it('releases the reservation when the handler throws, charging nothing', async () => {
    const { store, policy, ctx } = setup();
    const boom = new RelError({ kind: 'provider_unavailable', status: 503 });
    const handler = budget(policy)(async () => {
      throw boom;
    });
    await expect(handler(request(), ctx())).rejects.toBe(boom);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(0);
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(0);
  });

  it('charges what the provider billed before a later failure (usage recorded on the context)', async () => {
    const { store, policy, ctx } = setup();
    const handler = budget(policy)(async (_req, c) => {
      c.recordUsage(usage);
      throw new RelError({ kind: 'malformed_output', raw: '', issues: ['x'] });
    });
    await expect(handler(request(), ctx())).rejects.toThrow(RelError);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
  });

  it('settles a stream at its end with the finish usage', async () => {
    const { store, policy, ctx } = setup();
    let heldDuring = 0;
    const handler = budget(policy)(
      streaming(usage, 3, () => {
        void store.total(DAY_KEY, 86_400_000).then((t) => (heldDuring = t));
      }),
    );
    const c = ctx();
    const res = await handler(request(), c);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done.message.content).toBe('t0t1t2');
    expect(heldDuring).toBeGreaterThan(140_000);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
    expect(c.cost.totalUsd).toBeCloseTo(0.14, 10);
  });

  it('releases when the consumer abandons the stream part-way', async () => {
    const { store, policy, ctx } = setup();
    const res = await budget(policy)(streaming(usage, 10))(request(), ctx());
    if (res.type !== 'stream') throw new Error('expected a stream');
    let seen = 0;
    for await (const _ of res.chunks) if (++seen === 2) break;
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(0);
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(0);
  });

  it('releases when the consumer closes the stream before reading any chunk, and closes the upstream too', async () => {
    const { store, policy, ctx } = setup();
    let upstreamClosed = false;
    // An upstream holding a connection from the moment the response exists (as an HTTP body does).
    const upstream: AsyncIterableIterator<StreamChunk> = {
      [Symbol.asyncIterator]: () => upstream,
      next: async () => ({ done: false, value: { type: 'text-delta', text: 'never read' } }),
      return: async () => {
        upstreamClosed = true;
        return { done: true, value: undefined };
      },
    };
    const handler = budget(policy)(async (req) => ({ type: 'stream', requestedModel: req.model, chunks: upstream }));
    const res = await handler(request(), ctx());
    if (res.type !== 'stream') throw new Error('expected a stream');
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(1);
    await res.chunks[Symbol.asyncIterator]().return?.();
    expect(await store.total('budget:{org:acme}:org:acme:concurrent', 0)).toBe(0);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(0);
    expect(upstreamClosed).toBe(true);
    expect(policy.pendingSettlements).toBe(0);
  });

  it('refuses past the spend ceiling with budget_exceeded (user class quota_exceeded), naming scope and amounts', async () => {
    const { policy, ctx } = setup();
    const handler = budget(policy)(answering({ inputTokens: 40, outputTokens: 300 }));
    // $0.64 each; the reservation of ~$0.24 fits after the first, not after the second.
    await handler(request(), ctx());
    const err = await handler(request(), ctx())
      .then(() => handler(request(), ctx()))
      .catch((e: unknown) => e);
    expect(RelError.is(err)).toBe(true);
    const failure = (err as RelError).failure;
    expect(failure).toMatchObject({ kind: 'budget_exceeded', scope: 'org:acme:day', limitUsd: 1 });
    if (failure.kind !== 'budget_exceeded') throw new Error('unreachable');
    expect(failure.spentUsd).toBeCloseTo(1.28, 6);
    expect(failure.retryAfterMs).toBeGreaterThan(0);
    expect((err as RelError).info).toMatchObject({ userClass: 'quota_exceeded', httpStatus: 429 });
  });

  it('refuses past a rate with quota_exceeded and a Retry-After, then admits once it passed', async () => {
    const { policy, ctx, clock } = setup({ tiers: { free: { rpm: 2 } } });
    const handler = budget(policy)(answering(usage));
    await handler(request(), ctx());
    await handler(request(), ctx());
    const err = (await handler(request(), ctx()).catch((e: unknown) => e)) as RelError;
    expect(err.failure).toEqual({ kind: 'quota_exceeded', scope: 'org:acme', limit: 'rpm', retryAfterMs: 30_000 });
    expect(err.info.userClass).toBe('rate_limited');
    await clock.advance(30_000);
    await expect(handler(request(), ctx())).resolves.toMatchObject({ type: 'completion' });
  });

  it('limits concurrency: a third call in flight is refused, and a finished one frees its place', async () => {
    const { policy, ctx } = setup({ tiers: { free: { concurrent: 2 } } });
    const gates: Array<() => void> = [];
    const handler = budget(policy)(async (req, c) => {
      await new Promise<void>((r) => gates.push(r));
      return answering(usage)(req, c);
    });
    const a = handler(request(), ctx());
    const b = handler(request(), ctx());
    await expect(handler(request(), ctx())).rejects.toMatchObject({ failure: { limit: 'concurrent' } });
    while (gates.length < 2) await new Promise((r) => setImmediate(r));
    gates[0]?.();
    await a;
    const c = handler(request(), ctx());
    while (gates.length < 3) await new Promise((r) => setImmediate(r));
    gates[1]?.();
    gates[2]?.();
    await Promise.all([b, c]);
  });

  it('with onCeiling downgrade, asks routing for a cheaper route instead of refusing, and still charges', async () => {
    const { policy, ctx, store } = setup({ onCeiling: 'downgrade', tiers: { free: { spendPerDayUsd: 0.2 } } });
    const handler = budget(policy)(answering(usage));
    await handler(request(), ctx());
    const c = ctx();
    await handler(request(), c);
    expect(c.downgrade).toEqual({ scope: 'org:acme' });
    expect(c.getAttribute('rel.budget.decision')).toBe('downgraded');
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(280_000);
  });

  it('a crashed process releases nothing, yet its reservation expires with the lease', async () => {
    const { store, policy, ctx, clock } = setup({ leaseMs: 30_000, tiers: { free: { spendPerDayUsd: 0.3 } } });
    await policy.reserve(request(), ctx()); // never settled: the process "crashed"
    await expect(policy.reserve(request(), ctx())).rejects.toMatchObject({ failure: { kind: 'budget_exceeded' } });
    await clock.advance(30_000);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(0);
    await expect(policy.reserve(request(), ctx())).resolves.toMatchObject({ decision: 'allowed' });
  });

  it('fires each alert threshold once per period per scope, through events and the callback, across instances', async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const store = new MemoryStore({ clock });
    const alerts: BudgetAlert[] = [];
    const events = new EventHub();
    const evented: unknown[] = [];
    events.on('budget-alert', (e) => evented.push(e));
    const make = () =>
      new BudgetPolicy({
        store,
        clock,
        prices,
        tiers: { free: { spendPerDayUsd: 1 } },
        onAlert: (a) => alerts.push(a),
      });
    const [one, two] = [budget(make())(answering(usage)), budget(make())(answering(usage))];
    for (let i = 0; i < 6; i++) {
      await (i % 2 ? one : two)(request(), new RequestContext({ principal: { orgId: 'acme' }, clock, events }));
    }
    expect(alerts.map((a) => a.thresholdPct)).toEqual([50, 80]);
    expect(alerts[0]).toMatchObject({ scope: 'org:acme', period: 'day', limitUsd: 1 });
    expect(alerts[0]?.spentUsd).toBeCloseTo(0.56, 6);
    expect(evented).toHaveLength(2);
    // The ceiling refuses the next call (0.84 + a ~$0.24 reservation > 1): the 100% alert fires once.
    const ctx = () => new RequestContext({ principal: { orgId: 'acme' }, clock, events });
    await expect(one(request(), ctx())).rejects.toThrow(RelError);
    await expect(two(request(), ctx())).rejects.toThrow(RelError);
    expect(alerts.map((a) => a.thresholdPct)).toEqual([50, 80, 100]);
    // Next day (a new period): spend slid out of the window, the alerts may fire again.
    await clock.advance(86_400_000);
    for (let i = 0; i < 4; i++) await one(request(), ctx());
    expect(alerts.map((a) => a.thresholdPct)).toEqual([50, 80, 100, 50]);
  });

  it('charges a Claude call its hand-computed cost once: cache reads and writes are parts of inputTokens, not added to it', async () => {
    const { store, policy, ctx } = setup({ prices: {}, tiers: { free: { spendPerDayUsd: 100 } } });
    const claude = 'claude-sonnet-4-20250514';
    const usage = {
      inputTokens: 1_000_000,
      cachedInputTokens: 400_000,
      cacheCreationInputTokens: 100_000,
      outputTokens: 200_000,
    };
    const c = ctx();
    await budget(policy)(answering(usage, claude))(request(claude), c);
    // 500k x $3 + 400k x $0.30 + 100k x $3.75 + 200k x $15
    expect(c.cost.totalUsd).toBeCloseTo(4.995, 9);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(4_995_000);
  });

  it('an unknown model: one warning naming it, and the default price on every call, never zero', async () => {
    const warnings: string[] = [];
    const { store, policy, ctx } = setup({
      prices: {},
      defaultPrice: { inputPerMTok: 10, outputPerMTok: 20 },
      logger: { warn: (m) => warnings.push(m) },
    });
    const handler = budget(policy)(answering(usage, 'acme-private-model'));
    for (let i = 0; i < 3; i++) await handler(request('acme-private-model'), ctx());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('acme-private-model');
    // 40 x $10 + 50 x $20 per MTok = $0.0014 a call.
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(3 * 1400);
    const r = await policy.reserve(request('acme-private-model'), ctx());
    expect(r.estimate.costUsd).toBeGreaterThan(0);
    await policy.release(r);
  });

  it('goes through the reserve and settle of a policy that overrides them', async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const calls: string[] = [];
    class Audited extends BudgetPolicy {
      override async reserve(...args: Parameters<BudgetPolicy['reserve']>) {
        calls.push('reserve');
        return super.reserve(...args);
      }
      override async settle(...args: Parameters<BudgetPolicy['settle']>) {
        calls.push('settle');
        return super.settle(...args);
      }
    }
    const store = new MemoryStore({ clock });
    const policy = new Audited({ store, clock, prices, tiers: { free: { spendPerDayUsd: 1 } } });
    await budget(policy)(answering(usage))(request(), new RequestContext({ principal: { orgId: 'acme' }, clock }));
    expect(calls).toEqual(['reserve', 'settle']);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
  });

  it('defers a settlement the store refuses after the call, answers anyway, and writes it on flush', async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const inner = new MemoryStore({ clock });
    const store = new FaultyStore(inner);
    const errors: string[] = [];
    const policy = new BudgetPolicy({
      store,
      clock,
      prices,
      tiers: { free: { spendPerDayUsd: 1 } },
      onStoreError: (_e, decision) => errors.push(decision),
    });
    const handler = budget(policy)(async (req, c) => {
      store.mode = 'down'; // the store goes away while the provider answers
      return answering(usage)(req, c);
    });
    const res = await handler(request(), new RequestContext({ principal: { orgId: 'acme' }, clock }));
    expect(res.type).toBe('completion');
    expect(errors).toEqual(['settle_deferred']);
    expect(policy.pendingSettlements).toBe(1);
    store.mode = 'up';
    await policy.flush();
    expect(policy.pendingSettlements).toBe(0);
    expect(await inner.total(DAY_KEY, 86_400_000)).toBe(140_000); // the actual cost, the lease ended
  });

  it('composes with other middlewares as the outer layer', async () => {
    const { policy, ctx } = setup();
    const seen: string[] = [];
    const handler = compose(budget(policy), (next) => async (req, c) => {
      seen.push(String(c.getAttribute('rel.budget.decision')));
      return next(req, c);
    })(answering(usage));
    await handler(request(), ctx());
    expect(seen).toEqual(['allowed']);
  });
});

describe('budget middleware: a stream ends its reservation exactly once, however it ends', () => {
  const CONCURRENT = 'budget:{org:acme}:org:acme:concurrent';

  /** An upstream that yields `n` chunks (recording `billed` usage on `ctx` after the first), then fails with `failure`. */
  function failing(n: number, failure: unknown, billed?: Usage) {
    const state = { nexts: 0, closed: 0 };
    const handler: Handler = async (req, c) => {
      const it: AsyncIterableIterator<StreamChunk> = {
        [Symbol.asyncIterator]: () => it,
        next: async () => {
          const i = state.nexts++;
          if (i === 1 && billed) c.recordUsage(billed);
          if (i < n) return { done: false, value: { type: 'text-delta', text: `t${i}` } };
          throw failure;
        },
        return: async () => {
          state.closed++;
          return { done: true, value: undefined };
        },
      };
      return { type: 'stream', requestedModel: req.model, chunks: it };
    };
    return { handler, state };
  }

  async function drainAll(chunks: AsyncIterable<StreamChunk>) {
    const got: string[] = [];
    try {
      for await (const c of chunks) if (c.type === 'text-delta') got.push(c.text);
    } catch (error) {
      return { got, error };
    }
    return { got, error: undefined };
  }

  it('settles the usage billed before a mid-stream failure, closes the upstream and surfaces the failure as is', async () => {
    const { store, policy, ctx } = setup();
    const reset = new RelError({ kind: 'stream_interrupted', emittedChunks: 3 });
    const { handler, state } = failing(3, reset, usage);
    const c = ctx();
    const res = await budget(policy)(handler)(request(), c);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const out = await drainAll(res.chunks);
    expect(out).toEqual({ got: ['t0', 't1', 't2'], error: reset });
    expect(state.closed).toBe(1);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
    expect(await store.total(CONCURRENT, 0)).toBe(0);
    expect(c.cost.totalUsd).toBeCloseTo(0.14, 10);
    const it = res.chunks[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(state).toEqual({ nexts: 4, closed: 1 });
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
  });

  it('releases on an abort mid-stream that billed nothing, and surfaces the cancel', async () => {
    const { store, policy, ctx } = setup();
    const cancelled = new RelError({ kind: 'cancelled' });
    const { handler, state } = failing(2, cancelled);
    const res = await budget(policy)(handler)(request(), ctx());
    if (res.type !== 'stream') throw new Error('expected a stream');
    expect(await store.total(CONCURRENT, 0)).toBe(1);
    const out = await drainAll(res.chunks);
    expect(out).toEqual({ got: ['t0', 't1'], error: cancelled });
    expect(state.closed).toBe(1);
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(0);
    expect(await store.total(CONCURRENT, 0)).toBe(0);
    expect(policy.pendingSettlements).toBe(0);
  });

  it('settles a stream closed part-way with the usage billed so far, closing the upstream once', async () => {
    const { store, policy, ctx } = setup();
    const { handler, state } = failing(10, new Error('never reached'), usage);
    const res = await budget(policy)(handler)(request(), ctx());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    await it.next();
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(state).toEqual({ nexts: 3, closed: 1 });
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
    expect(await store.total(CONCURRENT, 0)).toBe(0);
  });

  it('settles a stream whose upstream fails to close, and surfaces that failure', async () => {
    const { store, policy, ctx } = setup();
    const { handler } = failing(10, new Error('never reached'), usage);
    const broken: Handler = async (req, c) => {
      const res = await handler(req, c);
      if (res.type !== 'stream') return res;
      const upstream = res.chunks[Symbol.asyncIterator]();
      const chunks: AsyncIterableIterator<StreamChunk> = {
        [Symbol.asyncIterator]: () => chunks,
        next: () => upstream.next(),
        return: async () => {
          throw new Error('socket already gone');
        },
      };
      return { ...res, chunks };
    };
    const res = await budget(policy)(broken)(request(), ctx());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    await expect(it.return?.()).rejects.toThrow('socket already gone');
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
    expect(await store.total(CONCURRENT, 0)).toBe(0);
  });

  it('waits for a read in progress before closing, as a generator does', async () => {
    const { store, policy, ctx } = setup();
    const { handler, state } = failing(10, new Error('never reached'));
    const res = await budget(policy)(handler)(request(), ctx());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    const order = await overlappingCalls(it);
    expect(order[0]).toBe('read text-delta');
    expect(order.slice(1).sort()).toEqual(['after true', 'closed true']);
    expect(state).toEqual({ nexts: 1, closed: 1 });
    expect(await store.total(CONCURRENT, 0)).toBe(0);
  });

  it('settles once at the end of a complete stream, and reads nothing after it', async () => {
    const { store, policy, ctx } = setup();
    const res = await budget(policy)(streaming(usage, 2))(request(), ctx());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    const types: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) types.push(r.value.type);
    expect(types).toEqual(['text-delta', 'text-delta', 'finish']);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(await store.total(DAY_KEY, 86_400_000)).toBe(140_000);
    expect(await store.total(CONCURRENT, 0)).toBe(0);
  });
});
