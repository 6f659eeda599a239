import { EventHub, type Handler, RelError, type RelEvents, RequestContext, type StreamChunk } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { completion, finish, observe, req, scriptedStream, streamReq, text, untilAborted } from '../test/helpers';
import { timeouts } from './timeouts-middleware';

function context(clock: FakeClock, init: ConstructorParameters<typeof RequestContext>[0] = {}) {
  const events = new EventHub();
  const seen: RelEvents['timeout'][] = [];
  events.on('timeout', (e) => seen.push(e));
  return { ctx: new RequestContext({ clock, events, ...init }), seen };
}

async function drain(chunks: AsyncIterable<StreamChunk>): Promise<{ got: StreamChunk[]; error?: unknown }> {
  const got: StreamChunk[] = [];
  try {
    for await (const c of chunks) got.push(c);
    return { got };
  } catch (error) {
    return { got, error };
  }
}

/** A provider that never answers but honours its signal, keeping the signal it saw. */
function hanging() {
  const signals: AbortSignal[] = [];
  const handler: Handler = (_r, c) => {
    signals.push(c.signal);
    return untilAborted(c.signal);
  };
  return { handler, signals };
}

describe('timeouts middleware', () => {
  it('aborts a request at its total limit with a timeout reason the provider sees', async () => {
    const clock = new FakeClock(0);
    const { ctx, seen } = context(clock);
    const { handler, signals } = hanging();
    const run = observe(timeouts({ default: { totalMs: 1_000 } })(handler)(req, ctx));
    await clock.advance(999);
    expect(run.settled).toBe(false);
    await clock.advance(1);
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 1_000 });
    expect(signals[0]!.reason).toBe(run.error);
    expect(seen).toEqual([{ requestId: ctx.requestId, operation: 'chat', phase: 'total', limitMs: 1_000 }]);
    expect(clock.pending).toBe(0);
  });

  it("carries the caller's cancel through nested timers to the provider's onAbort, before any signal is read", async () => {
    const clock = new FakeClock(0);
    const caller = new AbortController();
    const { ctx } = context(clock, { signal: caller.signal });
    const heard: { aborted: boolean; reason: unknown }[] = [];
    const inner: Handler = (_r, c) =>
      new Promise((_resolve, reject) => {
        c.onAbort(() => {
          heard.push({ aborted: c.aborted, reason: c.signal.reason });
          reject(c.signal.reason);
        });
      });
    const handler = timeouts({ default: { totalMs: 1_000 } })(timeouts({ default: { totalMs: 500 } })(inner));
    const run = observe(handler(req, ctx));
    await clock.advance(10);
    const reason = new Error('user left');
    caller.abort(reason);
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure.kind).toBe('cancelled');
    expect(heard).toEqual([{ aborted: true, reason }]);
    expect(clock.pending).toBe(0);
  });

  it('rejects at the limit even when the handler ignores its signal', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const run = observe(timeouts({ default: { totalMs: 50 } })(() => new Promise(() => {}))(req, ctx));
    await clock.advance(50);
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure.kind).toBe('timeout');
  });

  it("tells the caller's own cancel apart from a timeout", async () => {
    const clock = new FakeClock(0);
    const caller = new AbortController();
    const { ctx, seen } = context(clock, { signal: caller.signal });
    const { handler, signals } = hanging();
    const run = observe(timeouts({ default: { totalMs: 1_000 } })(handler)(req, ctx));
    await clock.advance(10);
    caller.abort();
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure.kind).toBe('cancelled');
    expect(signals[0]!.aborted).toBe(true);
    expect(seen).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('picks limits by route over operation over default, field by field', async () => {
    const clock = new FakeClock(0);
    const mw = timeouts({
      default: { totalMs: 10_000, idleMs: 7 },
      operations: { embeddings: { totalMs: 2_000 }, chat: { totalMs: 5_000 } },
      routes: { 'fast-alias': { totalMs: 300 } },
    });
    const limitFor = async (model: string, operation: string) => {
      const { ctx, seen } = context(clock, { operation });
      const run = observe(mw(hanging().handler)({ ...req, model }, ctx));
      await clock.runAll();
      await run.promise;
      return seen[0]?.limitMs;
    };
    expect(await limitFor('gpt-primary', 'chat')).toBe(5_000);
    expect(await limitFor('gpt-primary', 'embeddings')).toBe(2_000);
    expect(await limitFor('gpt-primary', 'moderation')).toBe(10_000);
    expect(await limitFor('fast-alias', 'embeddings')).toBe(300);
  });

  it('propagates its deadline to inner layers and never widens an inherited one', async () => {
    const clock = new FakeClock(0);
    const deadlines: (number | undefined)[] = [];
    const inner: Handler = async (_r, c) => {
      deadlines.push(c.deadline);
      return completion();
    };
    const mw = timeouts({ default: { totalMs: 1_000 } });
    await mw(inner)(req, context(clock).ctx);
    await mw(inner)(req, context(clock, { deadline: 400 }).ctx);
    expect(deadlines).toEqual([1_000, 400]);
    expect(clock.pending).toBe(0);
  });

  it('enforces an inherited deadline, reporting the time that was left as the limit', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock, { deadline: 400 });
    const run = observe(timeouts({ default: { totalMs: 1_000 } })(hanging().handler)(req, ctx));
    await clock.runAll();
    await run.promise;
    expect(RelError.is(run.error) && run.error.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 400 });
    expect(clock.now()).toBe(400);
  });

  it('does not start a request whose deadline has already passed', async () => {
    const clock = new FakeClock(1_000);
    const { ctx } = context(clock, { deadline: 1_000 });
    let calls = 0;
    const err = await timeouts()(async () => {
      calls++;
      return completion();
    })(req, ctx).catch((e: unknown) => e);
    expect(calls).toBe(0);
    expect(RelError.is(err) && err.failure.kind).toBe('timeout');
  });

  it('does not start a request the caller already cancelled', async () => {
    const caller = new AbortController();
    caller.abort();
    const { ctx } = context(new FakeClock(0), { signal: caller.signal });
    let calls = 0;
    const err = await timeouts({ default: { totalMs: 100 } })(async () => {
      calls++;
      return completion();
    })(req, ctx).catch((e: unknown) => e);
    expect(calls).toBe(0);
    expect(RelError.is(err) && err.failure.kind).toBe('cancelled');
  });

  it('passes through untouched when no limit and no deadline apply', async () => {
    const { ctx } = context(new FakeClock(0));
    const seen: RequestContext[] = [];
    const inner: Handler = async (_r, c) => {
      seen.push(c);
      return completion();
    };
    await timeouts({ operations: { embeddings: { totalMs: 5 } } })(inner)(req, ctx);
    // Stream-only limits do not apply to a request that does not stream.
    await timeouts({ default: { firstTokenMs: 5, idleMs: 5 } })(inner)(req, ctx);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(ctx);
    expect(seen[1]).toBe(ctx);
  });

  it('trips the first-token limit on a slow first chunk, aborting the request and closing the stream', async () => {
    const clock = new FakeClock(0);
    const { ctx, seen } = context(clock);
    let state: { closed: boolean } | undefined;
    let signal: AbortSignal | undefined;
    const provider: Handler = async (_r, c) => {
      signal = c.signal;
      const s = scriptedStream(
        [text('a'), finish],
        (i, sig) => (i === 0 ? clock.sleep(5_000, sig) : undefined),
        c.signal,
      );
      state = s.state;
      return s.response;
    };
    const res = await timeouts({ default: { firstTokenMs: 1_000, idleMs: 10_000 } })(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const out = observe(drain(res.chunks));
    await clock.advance(1_000);
    await out.promise;
    const { got, error } = out.value!;
    expect(got).toEqual([]);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'timeout', phase: 'first_token', limitMs: 1_000 });
    expect(signal?.aborted).toBe(true);
    expect(state?.closed).toBe(true);
    expect(seen.map((e) => e.phase)).toEqual(['first_token']);
    expect(clock.pending).toBe(0);
  });

  it('counts the first-token limit from the request start, including the wait for the stream to open', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const provider: Handler = async (_r, c) => {
      await clock.sleep(800, c.signal);
      return scriptedStream([text('a'), finish], (i, sig) => (i === 0 ? clock.sleep(300, sig) : undefined), c.signal)
        .response;
    };
    const run = observe(
      (async () => {
        const res = await timeouts({ default: { firstTokenMs: 1_000 } })(provider)(streamReq, ctx);
        if (res.type !== 'stream') throw new Error('expected a stream');
        return drain(res.chunks);
      })(),
    );
    await clock.runAll();
    await run.promise;
    expect(RelError.is(run.value?.error) && (run.value.error as RelError).failure.kind).toBe('timeout');
    expect(clock.now()).toBe(1_000);
  });

  it('trips the idle limit on a stall mid-stream, after the chunks already delivered', async () => {
    const clock = new FakeClock(0);
    const { ctx, seen } = context(clock);
    let state: { closed: boolean } | undefined;
    const provider: Handler = async (_r, c) => {
      const s = scriptedStream(
        [text('a'), text('b'), text('c'), finish],
        (i, sig) => clock.sleep(i === 2 ? 60_000 : 100, sig),
        c.signal,
      );
      state = s.state;
      return s.response;
    };
    const res = await timeouts({ default: { firstTokenMs: 500, idleMs: 300 } })(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const out = observe(drain(res.chunks));
    await clock.runAll();
    await out.promise;
    const { got, error } = out.value!;
    expect(got).toEqual([text('a'), text('b')]);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'timeout', phase: 'idle', limitMs: 300 });
    expect(clock.now()).toBe(500);
    expect(state?.closed).toBe(true);
    expect(seen.map((e) => e.phase)).toEqual(['idle']);
  });

  /** A stream that answers `first` at once, then never again and ignores every signal. */
  function deafAfter(first: StreamChunk) {
    const state = { nexts: 0, closed: false };
    const provider: Handler = async () => ({
      type: 'stream',
      requestedModel: 'gpt-primary',
      chunks: {
        [Symbol.asyncIterator]: () => ({
          next: () =>
            state.nexts++ === 0 ? Promise.resolve({ done: false, value: first }) : new Promise<never>(() => {}),
          return: async () => {
            state.closed = true;
            return { done: true as const, value: undefined };
          },
        }),
      },
    });
    return { provider, state };
  }

  it('fails a stalled wait at the idle limit even when the stream ignores its signal, and closes it', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const { provider, state } = deafAfter(text('a'));
    const res = await timeouts({ default: { idleMs: 300 } })(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const out = observe(drain(res.chunks));
    await clock.runAll();
    await out.promise;
    expect(out.value?.got).toEqual([text('a')]);
    expect(RelError.is(out.value?.error) && out.value.error.failure).toEqual({
      kind: 'timeout',
      phase: 'idle',
      limitMs: 300,
    });
    expect(state.closed).toBe(true);
  });

  it('fails a read at once when the total limit passed while the consumer was away', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const { provider, state } = deafAfter(text('a'));
    const res = await timeouts({ default: { totalMs: 1_000 } })(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(text('a'));
    await clock.advance(1_500);
    const error = await it.next().catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 1_000 });
    expect(state.closed).toBe(true);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('lets a steady stream run past many idle periods and stops its timers at the end', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const chunks = [...Array.from({ length: 20 }, (_, i) => text(String(i))), finish];
    const provider: Handler = async (_r, c) =>
      scriptedStream(chunks, (_i, sig) => clock.sleep(90, sig), c.signal).response;
    const res = await timeouts({ default: { idleMs: 100, totalMs: 5_000 } })(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const out = observe(drain(res.chunks));
    await clock.runAll();
    await out.promise;
    expect(out.value?.error).toBeUndefined();
    expect(out.value?.got).toHaveLength(21);
    expect(clock.pending).toBe(0);
  });

  it("does not count the consumer's own processing time as provider idle time", async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const provider: Handler = async (_r, c) =>
      scriptedStream([text('a'), text('b'), finish], () => {}, c.signal).response;
    const res = await timeouts({ default: { idleMs: 100 } })(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const got: StreamChunk[] = [];
    const run = observe(
      (async () => {
        for await (const c of res.chunks) {
          got.push(c);
          await clock.sleep(1_000);
        }
      })(),
    );
    await clock.runAll();
    await run.promise;
    expect(run.error).toBeUndefined();
    expect(got).toHaveLength(3);
  });

  it('applies the total limit to the whole stream', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const provider: Handler = async (_r, c) =>
      scriptedStream(
        Array.from({ length: 100 }, (_, i) => text(String(i))),
        (_i, sig) => clock.sleep(60, sig),
        c.signal,
      ).response;
    const res = await timeouts({ default: { totalMs: 1_000, idleMs: 100 } })(provider)(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const out = observe(drain(res.chunks));
    await clock.runAll();
    await out.promise;
    expect(RelError.is(out.value?.error) && (out.value.error as RelError).failure).toEqual({
      kind: 'timeout',
      phase: 'total',
      limitMs: 1_000,
    });
    expect(out.value?.got.length).toBe(16);
  });

  it('closes the stream and releases its timers when the consumer stops early', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    const s = scriptedStream([text('a'), text('b'), finish]);
    let signal: AbortSignal | undefined;
    const res = await timeouts({ default: { totalMs: 1_000, idleMs: 100 } })(async (_r, c) => {
      signal = c.signal;
      return s.response;
    })(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    for await (const _c of res.chunks) break;
    expect(s.state.closed).toBe(true);
    expect(RelError.is(signal?.reason) && signal.reason.failure.kind).toBe('cancelled');
    expect(clock.pending).toBe(0);
  });

  it('cancels nothing when the consumer stops after the finish chunk, and still closes the source', async () => {
    const clock = new FakeClock(0);
    const { ctx } = context(clock);
    // A source that would go on after its finish chunk (trailing events before its end).
    const s = scriptedStream([text('a'), finish, text('trailing')]);
    let inner: RequestContext | undefined;
    const res = await timeouts({ default: { totalMs: 1_000, idleMs: 100 } })(async (_r, c) => {
      inner = c;
      return s.response;
    })(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const got: StreamChunk[] = [];
    for await (const c of res.chunks) {
      got.push(c);
      if (c.type === 'finish') break;
    }
    expect(got).toEqual([text('a'), finish]);
    expect(s.state.closed).toBe(true);
    expect(inner?.aborted).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('aborts the request when a stream is closed before it was ever read', async () => {
    const clock = new FakeClock(0);
    const { ctx, seen } = context(clock);
    let signal: AbortSignal | undefined;
    const res = await timeouts({ default: { totalMs: 1_000 } })(async (_r, c) => {
      signal = c.signal;
      return scriptedStream([text('a'), finish]).response;
    })(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    await res.chunks[Symbol.asyncIterator]().return?.();
    expect(signal?.aborted).toBe(true);
    expect(seen).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('rejects a bad option at creation, naming the field', () => {
    expect(() => timeouts({ operations: { chat: { totalMs: -5 } } })).toThrow(/"operations.chat.totalMs"/);
    expect(() => timeouts({ default: { firstTokenMs: 0 } })).toThrow(/"default.firstTokenMs"/);
  });
});
