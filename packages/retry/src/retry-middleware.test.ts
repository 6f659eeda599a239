import {
  EventHub,
  type Handler,
  RelError,
  type RelEvents,
  RequestContext,
  type StreamChunk,
  collectStream,
  compose,
} from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import {
  completion,
  finish,
  kindOf,
  observe,
  rateLimited,
  req,
  scriptedStream,
  streamReq,
  text,
  unavailable,
  untilAborted,
} from '../test/helpers';
import { retry } from './retry-middleware';

function context(clock: FakeClock, init: ConstructorParameters<typeof RequestContext>[0] = {}) {
  const events = new EventHub();
  const ctx = new RequestContext({ clock, events, ...init });
  return { ctx, events };
}

describe('retry middleware', () => {
  it('sends every attempt with the same idempotency key and records each attempt in order', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock, { idempotencyKey: 'idem_caller' });
    const seen: { key: string; attempt: number | undefined }[] = [];
    const provider: Handler = async (_r, c) => {
      seen.push({ key: c.idempotencyKey, attempt: c.attempt });
      if (seen.length < 3) throw unavailable();
      return completion();
    };
    const run = observe(
      compose(retry({ backoff: { type: 'decorrelated', baseMs: 100, capMs: 100 } }))(provider)(req, ctx),
    );
    await clock.runAll();
    await run.promise;
    expect(run.value).toMatchObject({ type: 'completion' });
    expect(seen).toEqual([
      { key: 'idem_caller', attempt: 1 },
      { key: 'idem_caller', attempt: 2 },
      { key: 'idem_caller', attempt: 3 },
    ]);
    expect(ctx.attempts.map((a) => [a.number, a.outcome, a.failure, a.startedAt])).toEqual([
      [1, 'failure', 'provider_unavailable', 0],
      [2, 'failure', 'provider_unavailable', 100],
      [3, 'success', undefined, 200],
    ]);
  });

  it('emits retry and give-up events on ctx.events with the request id', async () => {
    const clock = new FakeClock(0);
    const { ctx, events } = context(clock);
    const retries: RelEvents['retry'][] = [];
    const giveUps: RelEvents['give-up'][] = [];
    events.on('retry', (e) => retries.push(e));
    events.on('give-up', (e) => giveUps.push(e));
    const run = observe(
      retry({ maxAttempts: 2, backoff: { type: 'decorrelated', baseMs: 50, capMs: 50 } })(async () => {
        throw rateLimited();
      })(req, ctx),
    );
    await clock.runAll();
    await run.promise;
    expect(kindOf(run.error)).toBe('rate_limited');
    expect(retries).toEqual([{ requestId: ctx.requestId, attempt: 2, delayMs: 50, reason: 'rate_limited' }]);
    expect(giveUps).toEqual([
      { requestId: ctx.requestId, attempts: 2, failure: { kind: 'rate_limited', status: 429 } },
    ]);
  });

  it('gives up at once with rate_limited when Retry-After passes ctx.deadline, so a fallback can act', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock, { deadline: 3_000 });
    let calls = 0;
    const err = await retry()(async () => {
      calls++;
      throw rateLimited(10_000);
    })(req, ctx).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 10_000 });
  });

  it('retries a stream that fails before its first chunk and delivers the second attempt whole', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const streams: { closed: boolean }[] = [];
    const provider: Handler = async () => {
      const n = streams.length;
      const s = scriptedStream([text('a'), text('b'), finish], () => {
        if (n === 0) throw new RelError({ kind: 'stream_interrupted', emittedChunks: 0 });
      });
      streams.push(s.state);
      return s.response;
    };
    const run = observe(retry({ backoff: { type: 'decorrelated', baseMs: 10, capMs: 10 } })(provider)(streamReq, ctx));
    await clock.runAll();
    await run.promise;
    const res = run.value!;
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done.message.content).toBe('ab');
    expect(streams).toHaveLength(2);
    expect(streams[0]!.closed).toBe(true);
    expect(ctx.attempts.map((a) => a.outcome)).toEqual(['failure', 'success']);
  });

  it('retries a stream that ends before any chunk', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    let calls = 0;
    const provider: Handler = async () => scriptedStream(calls++ === 0 ? [] : [text('x'), finish]).response;
    const run = observe(retry({ backoff: { type: 'decorrelated', baseMs: 10, capMs: 10 } })(provider)(streamReq, ctx));
    await clock.runAll();
    await run.promise;
    expect(calls).toBe(2);
  });

  it('never retries after the first chunk reached the caller: the failure surfaces as stream_interrupted', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    let calls = 0;
    const provider: Handler = async () => {
      calls++;
      return scriptedStream([text('a'), text('b'), text('c'), finish], (i) => {
        if (i === 2) throw new RelError({ kind: 'provider_unavailable', code: 'ECONNRESET' });
      }).response;
    };
    const res = await retry()(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const got: StreamChunk[] = [];
    const err = await (async () => {
      for await (const c of res.chunks) got.push(c);
    })().catch((e: unknown) => e);
    expect(got).toEqual([text('a'), text('b')]);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 2 });
    expect(RelError.is(err) && kindOf(err.cause)).toBe('provider_unavailable');
    expect(calls).toBe(1);
  });

  it('closes the provider stream when the consumer stops early', async () => {
    const { ctx } = context(new FakeClock(0));
    const s = scriptedStream([text('a'), text('b'), finish]);
    const res = await retry()(async () => s.response)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    for await (const c of res.chunks) {
      expect(c).toEqual(text('a'));
      break;
    }
    expect(s.state.closed).toBe(true);
  });

  it('hedges a slow stream: the first to deliver a chunk wins, the loser is aborted and closed, both share the key', async () => {
    const clock = new FakeClock(0);
    const { ctx, events } = context(clock);
    const hedges: RelEvents['hedge'][] = [];
    events.on('hedge', (e) => hedges.push(e));
    const keys: string[] = [];
    const states: { closed: boolean }[] = [];
    const provider: Handler = async (_r, c) => {
      keys.push(c.idempotencyKey);
      const slow = keys.length === 1;
      const s = scriptedStream(
        [text(slow ? 'slow' : 'fast'), finish],
        async (i, signal) => {
          if (i === 0) await clock.sleep(slow ? 1_000 : 10, signal);
        },
        c.signal,
      );
      states.push(s.state);
      return s.response;
    };
    const run = observe(retry({ hedge: { delayMs: 200 } })(provider)(streamReq, ctx));
    await clock.advance(210);
    await run.promise;
    const res = run.value!;
    if (res.type !== 'stream') throw new Error('expected a stream');
    expect((await collectStream(res)).message.content).toBe('fast');
    expect(keys).toEqual([ctx.idempotencyKey, ctx.idempotencyKey]);
    expect(hedges).toEqual([{ requestId: ctx.requestId, delayMs: 200 }]);
    expect(states.every((s) => s.closed)).toBe(true);
    expect(ctx.attempts.map((a) => [a.number, a.outcome, a.failure, a.hedge])).toEqual([
      [2, 'success', undefined, true],
      [1, 'failure', 'cancelled', undefined],
    ]);
  });

  it('hedges only the configured routes', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    let calls = 0;
    const provider: Handler = async (_r, c) => {
      calls++;
      await clock.sleep(500, c.signal);
      return completion();
    };
    const run = observe(retry({ hedge: { delayMs: 100, routes: ['other-route'] } })(provider)(req, ctx));
    await clock.runAll();
    await run.promise;
    expect(calls).toBe(1);
  });

  it('stops retrying when the caller cancels during an attempt', async () => {
    const caller = new AbortController();
    const { ctx } = context(new FakeClock(0), { signal: caller.signal });
    let calls = 0;
    const run = observe(
      retry()(async (_r, c) => {
        calls++;
        return untilAborted(c.signal);
      })(req, ctx),
    );
    caller.abort();
    await run.promise;
    expect(kindOf(run.error)).toBe('cancelled');
    expect(calls).toBe(1);
  });
});

describe('retry middleware: the target an attempt is recorded against', () => {
  const failOnce = (): Handler => {
    let calls = 0;
    return async () => {
      if (++calls === 1) throw unavailable();
      return completion();
    };
  };
  const fast = { backoff: { type: 'decorrelated' as const, baseMs: 10, capMs: 10 } };

  async function targets(mw: ReturnType<typeof retry>, handler: Handler, ctx: RequestContext, clock: FakeClock) {
    const run = observe(mw(handler)(req, ctx));
    await clock.runAll();
    await run.promise;
    expect(run.error).toBeUndefined();
    return ctx.attempts.map((a) => [a.target, a.model]);
  }

  it('uses the `target` option when given', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    expect(await targets(retry({ ...fast, target: 'primary' }), failOnce(), ctx, clock)).toEqual([
      ['primary', 'gpt-primary'],
      ['primary', 'gpt-primary'],
    ]);
  });

  it('otherwise uses the route target a router put in the context (rel.route.target)', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    ctx.setAttribute('rel.route.target', 'backup');
    expect(await targets(retry(fast), failOnce(), ctx, clock)).toEqual([
      ['backup', 'gpt-primary'],
      ['backup', 'gpt-primary'],
    ]);
  });

  it('otherwise provider:model when the handler names its provider, else the model', async () => {
    const clock = new FakeClock(0);
    const named = Object.assign(failOnce(), { providerName: 'openai' });
    const a = context(clock).ctx;
    expect((await targets(retry(fast), named, a, clock))[0]).toEqual(['openai:gpt-primary', 'gpt-primary']);
    const b = context(clock).ctx;
    expect((await targets(retry(fast), failOnce(), b, clock))[0]).toEqual(['gpt-primary', 'gpt-primary']);
  });

  it('rejects an empty target, naming the field', () => {
    expect(() => retry({ target: '' })).toThrow(/"target"/);
  });
});
