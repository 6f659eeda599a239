import { type LlmRequest, RelError, RequestContext, type StreamChunk, collectStream } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-provider';
import type { Fault } from './faults';

const req: LlmRequest = { model: 'm', messages: [{ role: 'user', content: 'Tell me about rivers.' }] };
const streamReq: LlmRequest = { ...req, stream: true };

async function failureOf(fake: FakeProvider, request: LlmRequest = req, ctx = new RequestContext()) {
  const err = await fake.handler(request, ctx).catch((e: unknown) => e);
  if (!RelError.is(err)) throw new Error(`expected a RelError, got ${String(err)}`);
  expect(err.cause).toBeDefined();
  return err.failure;
}

/** Reads a stream, returning the chunks that arrived and the error it ended with. */
async function drain(fake: FakeProvider, ctx = new RequestContext(), request = streamReq) {
  const res = await fake.handler(request, ctx);
  if (res.type !== 'stream') throw new Error('expected a stream');
  const chunks: StreamChunk[] = [];
  try {
    for await (const c of res.chunks) chunks.push(c);
    return { chunks, error: undefined };
  } catch (error) {
    return { chunks, error: RelError.is(error) ? error : undefined };
  }
}

describe('in-process handler: errors as RelErrors', () => {
  it.each<[string, Fault, unknown]>([
    [
      '429 with Retry-After',
      { type: 'rate_limit', retryAfterSeconds: 2 },
      { kind: 'rate_limited', status: 429, retryAfterMs: 2000 },
    ],
    ['429 without Retry-After', { type: 'rate_limit' }, { kind: 'rate_limited', status: 429 }],
    ['500', { type: 'server_error' }, { kind: 'provider_unavailable', status: 500 }],
    ['503', { type: 'server_error', status: 503 }, { kind: 'provider_unavailable', status: 503 }],
    ['reset', { type: 'reset' }, { kind: 'provider_unavailable', code: 'ECONNRESET' }],
    ['context_length', { type: 'context_length' }, { kind: 'context_length_exceeded', maxContextTokens: 128_000 }],
    ['content_filter', { type: 'content_filter' }, { kind: 'content_filtered', reason: 'content_policy_violation' }],
    ['status 401', { type: 'status', status: 401 }, { kind: 'unauthorized', origin: 'provider', status: 401 }],
    ['status 418', { type: 'status', status: 418 }, { kind: 'provider_error', status: 418 }],
    [
      'status 429 + Retry-After',
      { type: 'status', status: 429, retryAfter: '1.5' },
      { kind: 'rate_limited', status: 429, retryAfterMs: 1500 },
    ],
  ])('%s becomes the matching failure', async (_name, fault, failure) => {
    const fake = new FakeProvider().fail('m', fault);
    expect(await failureOf(fake)).toEqual(failure);
    expect(fake.attempts[0]?.outcome).toBe(`fault:${fault.type}`);
  });

  it('a status 429 with an HTTP-date Retry-After waits until that date on the fake clock', async () => {
    const clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
    const fake = new FakeProvider({ clock }).fail('m', {
      type: 'status',
      status: 429,
      retryAfter: 'Tue, 01 Jan 2030 00:00:30 GMT',
    });
    expect(await failureOf(fake)).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 30_000 });
  });

  it('downFor is provider_unavailable 503 until the clock passes it', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).downFor('m', 1_000);
    expect(await failureOf(fake)).toEqual({ kind: 'provider_unavailable', status: 503 });
    await clock.advance(1_000);
    expect((await fake.handler(req, new RequestContext())).type).toBe('completion');
  });

  it('a prefill to a model that rejects it is invalid_request on messages', async () => {
    const fake = new FakeProvider().model('m', { rejectsPrefill: true });
    const prefill: LlmRequest = { ...req, messages: [...req.messages, { role: 'assistant', content: 'Rivers' }] };
    expect(await failureOf(fake, prefill)).toEqual({ kind: 'invalid_request', status: 400, param: 'messages' });
  });

  it('hang waits until ctx.signal aborts and rejects with its reason', async () => {
    const fake = new FakeProvider().fail('m', { type: 'hang' });
    const controller = new AbortController();
    const pending = fake.handler(req, new RequestContext({ signal: controller.signal })).catch((e: unknown) => e);
    const reason = new RelError({ kind: 'timeout', phase: 'total' });
    controller.abort(reason);
    expect(await pending).toBe(reason);
  });

  it('the fault in req.metadata applies to that request only', async () => {
    const fake = new FakeProvider();
    const withFault = { ...req, metadata: { 'x-fake-fault': JSON.stringify({ type: 'content_filter' }) } };
    expect((await failureOf(fake, withFault)).kind).toBe('content_filtered');
    expect((await fake.handler(req, new RequestContext())).type).toBe('completion');
  });

  it('an invalid metadata fault is invalid_request naming x-fake-fault', async () => {
    const fake = new FakeProvider();
    const withFault = { ...req, metadata: { 'x-fake-fault': '{"type":"nope"}' } };
    expect(await failureOf(fake, withFault)).toEqual({ kind: 'invalid_request', status: 400, param: 'x-fake-fault' });
  });
});

describe('in-process handler: waits and streams', () => {
  it('latency waits on the clock and an abort cancels the wait, leaving no timer', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).model('m', { latencyMs: 300 });
    const controller = new AbortController();
    const pending = fake.handler(req, new RequestContext({ signal: controller.signal })).catch((e: unknown) => e);
    await clock.advance(299);
    expect(clock.pending).toBe(1);
    controller.abort();
    const err = await pending;
    expect(RelError.is(err) && err.failure.kind).toBe('cancelled');
    expect(clock.pending).toBe(0);
  });

  it('slow_first_token holds the first chunk until the clock passes the delay', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).fail('m', { type: 'slow_first_token', delayMs: 4_000 });
    const res = await fake.handler(streamReq, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    let first: StreamChunk | undefined;
    const next = it.next().then((r) => {
      first = r.value;
    });
    await clock.advance(3_999);
    expect(first).toBeUndefined();
    await clock.advance(1);
    await next;
    expect(first?.type).toBe('text-delta');
    await it.return?.();
  });

  it('cut_stream yields N chunks, then throws stream_interrupted without a finish or usage', async () => {
    const fake = new FakeProvider().fail('m', { type: 'cut_stream', afterChunks: 4 });
    const ctx = new RequestContext();
    const { chunks, error } = await drain(fake, ctx);
    expect(chunks).toHaveLength(4);
    expect(chunks.every((c) => c.type === 'text-delta')).toBe(true);
    expect(error?.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 4 });
    expect(ctx.usage.outputTokens).toBe(0);
  });

  it('stall yields N chunks, waits stallMs on the clock, then throws stream_interrupted', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).fail('m', { type: 'stall', afterChunks: 2, stallMs: 60_000 });
    let settled = false;
    const result = drain(fake).finally(() => {
      settled = true;
    });
    await clock.advance(59_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    const { chunks, error } = await result;
    expect(chunks).toHaveLength(2);
    expect(error?.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 2 });
  });

  it('an abort during a stall ends the stream with the abort reason', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).fail('m', { type: 'stall', afterChunks: 1, stallMs: 60_000 });
    const controller = new AbortController();
    const result = drain(fake, new RequestContext({ signal: controller.signal }));
    await clock.advance(10);
    controller.abort(new RelError({ kind: 'timeout', phase: 'idle' }));
    const { chunks, error } = await result;
    expect(chunks).toHaveLength(1);
    expect(error?.failure).toEqual({ kind: 'timeout', phase: 'idle' });
    expect(clock.pending).toBe(0);
  });

  it('malformed_sse throws provider_error from the iterator at that chunk', async () => {
    const fake = new FakeProvider().fail('m', { type: 'malformed_sse', atChunk: 3 });
    const { chunks, error } = await drain(fake);
    expect(chunks).toHaveLength(3);
    expect(error?.failure.kind).toBe('provider_error');
  });

  it('no_done delivers a complete stream (there is no [DONE] in-process)', async () => {
    const fake = new FakeProvider().fail('m', { type: 'no_done' });
    const { chunks, error } = await drain(fake);
    expect(error).toBeUndefined();
    expect(chunks.at(-1)?.type).toBe('finish');
  });

  it('a healthy stream ends with finish carrying usage and the model version, and records usage once', async () => {
    const fake = new FakeProvider().model('m', { version: 'm-v7', outputTokens: 10 });
    const ctx = new RequestContext();
    const res = await fake.handler(streamReq, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done).toMatchObject({ model: 'm-v7', finishReason: 'stop', usage: { outputTokens: 10 } });
    expect(ctx.usage).toEqual(done.usage);
  });

  it('a streamed tool call arrives as tool-call deltas that assemble into valid arguments', async () => {
    const fake = new FakeProvider();
    const tools = [
      {
        name: 'lookup',
        parameters: {
          type: 'object',
          properties: { id: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
          required: ['id', 'tags'],
        },
      },
    ];
    const res = await fake.handler({ ...streamReq, tools, toolChoice: { name: 'lookup' } }, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done.finishReason).toBe('tool_calls');
    expect(done.message.content).toBeNull();
    const call = done.message.toolCalls?.[0];
    expect(call?.name).toBe('lookup');
    const args = JSON.parse(call?.arguments ?? '');
    expect(Number.isInteger(args.id)).toBe(true);
    expect(Array.isArray(args.tags)).toBe(true);
  });

  it('invalid_json_output and schema_violation are delivered as completions for the caller to catch', async () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
    const structured: LlmRequest = { ...req, responseFormat: { type: 'json_schema', name: 'x', schema } };
    const fake = new FakeProvider().fail('m', { type: 'invalid_json_output' }).fail('m', { type: 'schema_violation' });
    const bad = await fake.handler(structured, new RequestContext());
    const wrong = await fake.handler(structured, new RequestContext());
    if (bad.type !== 'completion' || wrong.type !== 'completion') throw new Error('expected completions');
    expect(() => JSON.parse(bad.message.content ?? '')).toThrow(SyntaxError);
    expect(JSON.parse(wrong.message.content ?? '')).not.toHaveProperty('a');
  });

  it('an already aborted signal is rejected before anything is recorded', async () => {
    const fake = new FakeProvider();
    const controller = new AbortController();
    controller.abort();
    const err = await fake.handler(req, new RequestContext({ signal: controller.signal })).catch((e: unknown) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('cancelled');
    expect(fake.attempts).toHaveLength(0);
  });
});
