import { type LlmResponse, RelError, RequestContext, type StreamChunk } from '@rel/core';
import { overlappingCalls } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { drain, request, scripted } from '../test/helpers';
import { CircuitBreaker } from './circuit-breaker';
import { router } from './router';

const tokens = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i} `);
const streamReq = { ...request, stream: true };

describe('mid-stream failover', () => {
  it('restarts on the next target transparently when nothing reached the caller yet', async () => {
    const primary = scripted([{ stream: tokens(6), cutAfter: 0 }]);
    const backup = scripted([{ stream: tokens(4, 'b') }]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a' },
        { name: 'backup', handler: backup, model: 'gpt-b' },
      ],
    });
    const ctx = new RequestContext();
    const out = await drain(await route(streamReq, ctx));
    expect(out.error).toBeUndefined();
    expect(out.text).toBe(tokens(4, 'b').join(''));
    expect(out.finish).toMatchObject({ type: 'finish', model: 'gpt-b-v1', usage: { inputTokens: 3, outputTokens: 4 } });
    expect(ctx.fallbacks.map((f) => [f.from, f.to, f.reason])).toEqual([['primary', 'backup', 'stream_interrupted']]);
  });

  it('continues on a prefill-capable target from the partial text once chunks were emitted', async () => {
    const primary = scripted([{ stream: tokens(6), cutAfter: 3 }]);
    const backup = scripted([{ stream: ['rest ', 'of it'] }]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a' },
        { name: 'plain', handler: scripted([{ ok: true }]), model: 'gpt-x' },
        { name: 'backup', handler: backup, model: 'gpt-b', supportsPrefill: true },
      ],
    });
    const ctx = new RequestContext();
    const out = await drain(await route(streamReq, ctx));
    expect(out.error).toBeUndefined();
    expect(out.text).toBe('t0 t1 t2 rest of it');
    expect(backup.seen[0]?.messages.at(-1)).toEqual({ role: 'assistant', content: 't0 t1 t2 ' });
    expect(out.finish).toMatchObject({ model: 'gpt-b-v1', usage: { outputTokens: 2 } });
    expect(ctx.fallbacks.map((f) => [f.from, f.to, f.reason])).toEqual([['primary', 'backup', 'stream_interrupted']]);
  });

  it('ends with a stream_interrupted error, never a finish, when no target can continue', async () => {
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ stream: tokens(60), cutAfter: 40 }]), model: 'gpt-a' },
        { name: 'backup', handler: scripted([{ stream: tokens(60) }]), model: 'gpt-b' },
      ],
    });
    const out = await drain(await route(streamReq, new RequestContext()));
    expect(out.finish).toBeUndefined();
    expect(out.text).toBe(tokens(40).join(''));
    expect(RelError.is(out.error) && out.error.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 40 });
  });

  it('throws the original interruption with the continuation’s rejection of the prefill as cause', async () => {
    const rejection = { kind: 'invalid_request', param: 'messages', status: 400 } as const;
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ stream: tokens(10), cutAfter: 4 }]), model: 'gpt-a' },
        { name: 'backup', handler: scripted([{ fail: rejection }]), model: 'gpt-b', supportsPrefill: true },
      ],
    });
    const out = await drain(await route(streamReq, new RequestContext()));
    expect(out.finish).toBeUndefined();
    const err = out.error as RelError;
    expect(err.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 4 });
    expect(RelError.is(err.cause) && err.cause.failure).toEqual(rejection);
  });

  it('treats an idle timeout after emitted chunks as an interruption', async () => {
    const route = router({
      targets: [
        {
          name: 'primary',
          handler: scripted([
            { stream: tokens(10), cutAfter: 2, error: { kind: 'timeout', phase: 'idle', limitMs: 100 } },
          ]),
          model: 'gpt-a',
        },
      ],
    });
    const out = await drain(await route(streamReq, new RequestContext()));
    const err = out.error as RelError;
    expect(err.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 2 });
    expect(RelError.is(err.cause) && err.cause.failure.kind).toBe('timeout');
  });

  it('treats a stream that ends without a finish as interrupted, not as a success', async () => {
    const truncated = async (): Promise<LlmResponse> => ({
      type: 'stream',
      requestedModel: 'gpt-a',
      chunks: (async function* (): AsyncGenerator<StreamChunk> {
        yield { type: 'text-delta', text: 'half an ans' };
      })(),
    });
    const route = router({ targets: [{ name: 'primary', handler: truncated, model: 'gpt-a' }] });
    const out = await drain(await route(streamReq, new RequestContext()));
    expect(out.finish).toBeUndefined();
    expect(RelError.is(out.error) && out.error.failure.kind).toBe('stream_interrupted');
  });

  it('counts interrupted streams as breaker failures and finished ones as successes', async () => {
    const breaker = new CircuitBreaker({ name: 'primary', consecutiveFailures: 2 });
    const route = router({
      targets: [{ name: 'primary', handler: scripted([{ stream: tokens(3), cutAfter: 1 }]), model: 'gpt-a', breaker }],
    });
    await drain(await route(streamReq, new RequestContext()));
    expect(breaker.state).toBe('closed');
    await drain(await route(streamReq, new RequestContext()));
    expect(breaker.state).toBe('open');
  });

  it('closes the provider stream and frees the probe slot when the caller stops reading', async () => {
    let closed = false;
    const endless = async (): Promise<LlmResponse> => ({
      type: 'stream',
      requestedModel: 'gpt-a',
      chunks: (async function* (): AsyncGenerator<StreamChunk> {
        try {
          for (;;) yield { type: 'text-delta', text: 'x' };
        } finally {
          closed = true;
        }
      })(),
    });
    const breaker = new CircuitBreaker({ name: 'primary', consecutiveFailures: 1, openMs: 0 });
    breaker.record('pass', 'failure', 1);
    const route = router({ targets: [{ name: 'primary', handler: endless, model: 'gpt-a', breaker }] });
    const res = await route(streamReq, new RequestContext());
    expect(breaker.state).toBe('half_open');
    if (res.type !== 'stream') throw new Error('expected a stream');
    for await (const _ of res.chunks) break;
    expect(closed).toBe(true);
    expect(breaker.enter()).toBe('probe');
  });

  it('closes the provider stream and frees the probe slot when the caller closes the stream before reading it', async () => {
    let closed = false;
    const endless = async (): Promise<LlmResponse> => ({
      type: 'stream',
      requestedModel: 'gpt-a',
      chunks: {
        [Symbol.asyncIterator]: () => ({
          next: async () => ({ done: false as const, value: { type: 'text-delta' as const, text: 'x' } }),
          return: async () => {
            closed = true;
            return { done: true as const, value: undefined };
          },
        }),
      },
    });
    const breaker = new CircuitBreaker({ name: 'primary', consecutiveFailures: 1, openMs: 0 });
    breaker.record('pass', 'failure', 1);
    const route = router({ targets: [{ name: 'primary', handler: endless, model: 'gpt-a', breaker }] });
    const res = await route(streamReq, new RequestContext());
    expect(breaker.state).toBe('half_open');
    if (res.type !== 'stream') throw new Error('expected a stream');
    await res.chunks[Symbol.asyncIterator]().return?.();
    expect(closed).toBe(true);
    expect(breaker.enter()).toBe('probe');
  });

  it('a restarted stream that fails everywhere throws the typed failure of the last target', async () => {
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ stream: tokens(3), cutAfter: 0 }]), model: 'gpt-a' },
        {
          name: 'backup',
          handler: scripted([{ fail: { kind: 'provider_unavailable', status: 503 } }]),
          model: 'gpt-b',
        },
      ],
    });
    const out = await drain(await route(streamReq, new RequestContext()));
    expect(out.text).toBe('');
    expect(RelError.is(out.error) && out.error.failure.kind).toBe('provider_unavailable');
  });

  it('streams a non-streaming answer of a fallback target as chunks', async () => {
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ stream: tokens(3), cutAfter: 0 }]), model: 'gpt-a' },
        { name: 'backup', handler: scripted([{ ok: true, text: 'whole' }]), model: 'gpt-b' },
      ],
    });
    const out = await drain(await route(streamReq, new RequestContext()));
    expect(out.text).toBe('whole');
    expect(out.finish).toMatchObject({ model: 'gpt-b-v1' });
  });
});

describe('mid-stream failover: how the stream ends', () => {
  /** A stream of `n` text chunks then a finish, counting reads and closes. */
  function counted(n: number) {
    const state = { nexts: 0, closed: 0 };
    const handler = async (): Promise<LlmResponse> => {
      const it: AsyncIterableIterator<StreamChunk> = {
        [Symbol.asyncIterator]: () => it,
        next: async () => {
          const i = state.nexts++;
          if (i < n) return { done: false, value: { type: 'text-delta', text: `c${i} ` } };
          if (i === n) return { done: false, value: { type: 'finish', finishReason: 'stop', model: 'gpt-c-v1' } };
          return { done: true, value: undefined };
        },
        return: async () => {
          state.closed++;
          return { done: true, value: undefined };
        },
      };
      return { type: 'stream', requestedModel: 'gpt-c', chunks: it };
    };
    return { handler, state };
  }

  it('surfaces a cancel mid-stream as it is, without trying a continuation', async () => {
    const primary = scripted([{ stream: tokens(5), cutAfter: 2, error: { kind: 'cancelled' } }]);
    const backup = scripted([{ stream: ['rest'] }]);
    const route = router({
      targets: [
        { name: 'primary', handler: primary, model: 'gpt-a' },
        { name: 'backup', handler: backup, model: 'gpt-b', supportsPrefill: true },
      ],
    });
    const out = await drain(await route(streamReq, new RequestContext()));
    expect(out.text).toBe(tokens(2).join(''));
    expect(RelError.is(out.error) && out.error.failure.kind).toBe('cancelled');
    expect(backup.seen).toHaveLength(0);
  });

  it('goes round again when the target it restarted on fails before its first chunk too', async () => {
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ stream: tokens(3), cutAfter: 0 }]), model: 'gpt-a' },
        { name: 'second', handler: scripted([{ stream: tokens(3), cutAfter: 0 }]), model: 'gpt-s' },
        { name: 'backup', handler: scripted([{ stream: tokens(2, 'b') }]), model: 'gpt-b' },
      ],
    });
    const ctx = new RequestContext();
    const out = await drain(await route(streamReq, ctx));
    expect(out.error).toBeUndefined();
    expect(out.text).toBe(tokens(2, 'b').join(''));
    expect(ctx.fallbacks.map((f) => [f.from, f.to])).toEqual([
      ['primary', 'second'],
      ['second', 'backup'],
    ]);
  });

  it('continues an interrupted stream with a completion of a prefill target, as chunks with the usage summed', async () => {
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ stream: tokens(4), cutAfter: 2 }]), model: 'gpt-a' },
        { name: 'backup', handler: scripted([{ ok: true, text: 'rest' }]), model: 'gpt-b', supportsPrefill: true },
      ],
    });
    const out = await drain(await route(streamReq, new RequestContext()));
    expect(out.error).toBeUndefined();
    expect(out.text).toBe(`${tokens(2).join('')}rest`);
    expect(out.finish).toMatchObject({ type: 'finish', model: 'gpt-b-v1' });
  });

  it('closes the continuing target, not the failed one, and frees its probe slot when the caller stops after a failover', async () => {
    const { handler, state } = counted(100);
    const breaker = new CircuitBreaker({ name: 'backup', consecutiveFailures: 1, openMs: 0 });
    breaker.record('pass', 'failure', 1);
    const route = router({
      targets: [
        { name: 'primary', handler: scripted([{ stream: tokens(4), cutAfter: 2 }]), model: 'gpt-a' },
        { name: 'backup', handler, model: 'gpt-c', supportsPrefill: true, breaker },
      ],
    });
    const res = await route(streamReq, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await it.next();
      if (!r.done && r.value.type === 'text-delta') got.push(r.value.text);
    }
    expect(got).toEqual(['t0 ', 't1 ', 'c0 ', 'c1 ']);
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(state).toEqual({ nexts: 2, closed: 1 });
    expect(breaker.enter()).toBe('probe');
  });

  it('closes the stream on the read after its finish, counts one success, and reads nothing more', async () => {
    const { handler, state } = counted(2);
    const breaker = new CircuitBreaker({ name: 'primary', consecutiveFailures: 1, openMs: 0 });
    breaker.record('pass', 'failure', 1);
    const route = router({ targets: [{ name: 'primary', handler, model: 'gpt-c', breaker }] });
    const res = await route(streamReq, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    const types: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) types.push(r.value.type);
    expect(types).toEqual(['text-delta', 'text-delta', 'finish']);
    expect(breaker.state).toBe('closed');
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await it.return?.()).toEqual({ done: true, value: undefined });
    expect(state).toEqual({ nexts: 3, closed: 1 });
  });

  it('waits for a read in progress before closing, as a generator does', async () => {
    const { handler, state } = counted(10);
    const route = router({ targets: [{ name: 'primary', handler, model: 'gpt-c' }] });
    const res = await route(streamReq, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    const order = await overlappingCalls(it);
    expect(order[0]).toBe('read text-delta');
    expect(order.slice(1).sort()).toEqual(['after true', 'closed true']);
    expect(state).toEqual({ nexts: 1, closed: 1 });
  });
});
