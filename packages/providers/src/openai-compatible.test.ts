import { getEventListeners } from 'node:events';
import { createServer } from 'node:net';
import { type LlmRequest, RelError, RequestContext, type StreamChunk, collectStream } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { FakeProvider } from '@rel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureServer, startFixtureServer } from '../test/fixture-server';
import { nodeHttpFetch } from './node-http-fetch';
import { openaiCompatible } from './openai-compatible';

const fake = new FakeProvider({ seed: 7 });
let baseURL: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const server = await fake.listen();
  baseURL = server.baseURL;
  close = () => server.close();
});
afterAll(() => close());
afterEach(() => fake.reset());

const client = (extra: Partial<Parameters<typeof openaiCompatible>[0]> = {}) =>
  openaiCompatible({ baseURL, apiKey: 'sk-test', ...extra });
const ask = (model: string, more: Partial<LlmRequest> = {}): LlmRequest => ({
  model,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Tell me about the sea.' },
  ],
  ...more,
});
const failureOf = (e: unknown) => (RelError.is(e) ? e.failure : e);

async function drain(res: Awaited<ReturnType<ReturnType<typeof client>>>) {
  if (res.type !== 'stream') throw new Error('expected a stream');
  const chunks: StreamChunk[] = [];
  try {
    for await (const c of res.chunks) chunks.push(c);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks, error: undefined };
}

describe('openaiCompatible against the fake provider over HTTP', () => {
  it('returns a completion with the exact model version, usage and provider, and records the usage', async () => {
    fake.model('gpt-primary', { version: 'gpt-primary-2025-01-31' });
    const ctx = new RequestContext();
    const res = await client()(ask('gpt-primary'), ctx);
    if (res.type !== 'completion') throw new Error('expected a completion');
    expect(res).toMatchObject({ requestedModel: 'gpt-primary', model: 'gpt-primary-2025-01-31', provider: 'openai' });
    expect(res.finishReason).toBe('stop');
    expect(res.message.content?.length).toBeGreaterThan(0);
    expect(res.usage.inputTokens).toBeGreaterThan(0);
    expect(res.usage.outputTokens).toBeGreaterThan(0);
    expect(ctx.usage).toEqual(res.usage);
  });

  it('sends the bearer key, custom headers and the context idempotency key on every attempt', async () => {
    const ctx = new RequestContext({ idempotencyKey: 'idem_fixed' });
    const h = client({ headers: { 'x-team': 'search' } });
    fake.fail('gpt-idem', { type: 'server_error', status: 503 });
    await expect(h(ask('gpt-idem'), ctx)).rejects.toThrow();
    await h(ask('gpt-idem'), ctx);
    const attempts = fake.attemptsFor('gpt-idem');
    expect(attempts.map((a) => a.idempotencyKey)).toEqual(['idem_fixed', 'idem_fixed']);
    expect(attempts[0]?.headers.authorization).toBe('Bearer sk-test');
    expect(attempts[0]?.headers['x-team']).toBe('search');
    expect(attempts[0]?.messages).toEqual(ask('gpt-idem').messages);
  });

  for (const [transport, fetch] of [
    ['the runtime fetch', undefined],
    ['nodeHttpFetch', nodeHttpFetch()],
  ] as const) {
    it(`lets extra headers override its own whatever their case, but not the idempotency key (${transport})`, async () => {
      const ctx = new RequestContext({ idempotencyKey: 'idem_kept' });
      const h = client({
        headers: { Authorization: 'Bearer sk-override', 'X-Team': 'search', 'Idempotency-Key': 'not-this' },
        ...(fetch ? { fetch } : {}),
      });
      await h(ask(`gpt-case-${transport.length}`), ctx);
      const [attempt] = fake.attemptsFor(`gpt-case-${transport.length}`);
      expect(attempt?.headers.authorization).toBe('Bearer sk-override');
      expect(attempt?.headers['x-team']).toBe('search');
      expect(attempt?.idempotencyKey).toBe('idem_kept');
    });
  }

  it('streams the same answer as the non-streamed call, finishing with usage, version and id', async () => {
    const whole = await client()(ask('gpt-stream'), new RequestContext());
    const ctx = new RequestContext();
    const res = await client()(ask('gpt-stream', { stream: true }), ctx);
    if (res.type !== 'stream' || whole.type !== 'completion') throw new Error('unexpected response types');
    const streamed = await collectStream(res);
    expect(streamed.message.content).toBe(whole.message.content);
    expect(streamed.model).toBe('gpt-stream-2024-08-06');
    expect(streamed.id).not.toBe('');
    expect(streamed.usage).toEqual(whole.usage);
    expect(ctx.usage).toEqual(whole.usage);
    expect(fake.attemptsFor('gpt-stream').map((a) => a.stream)).toEqual([false, true]);
  });

  it('assembles streamed tool-call deltas into the same tool call as the non-streamed answer', async () => {
    const tools = [
      {
        name: 'lookup_order',
        description: 'Find an order',
        parameters: {
          type: 'object',
          properties: { orderId: { type: 'string' }, verbose: { type: 'boolean' } },
          required: ['orderId', 'verbose'],
        },
      },
    ];
    const req = ask('gpt-tools', { tools, toolChoice: 'required' });
    const whole = await client()(req, new RequestContext());
    const res = await client()({ ...req, stream: true }, new RequestContext());
    if (res.type !== 'stream' || whole.type !== 'completion') throw new Error('unexpected response types');
    const streamed = await collectStream(res);
    expect(whole.finishReason).toBe('tool_calls');
    expect(streamed.finishReason).toBe('tool_calls');
    expect(streamed.message.toolCalls).toEqual(whole.message.toolCalls);
    const call = whole.message.toolCalls?.[0];
    expect(call?.name).toBe('lookup_order');
    expect(JSON.parse(call?.arguments ?? '')).toMatchObject({ orderId: expect.any(String) });
  });

  it('sends a json_schema response format and gets JSON back', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, population: { type: 'integer' } },
      required: ['city', 'population'],
      additionalProperties: false,
    };
    const res = await client()(
      ask('gpt-json', { responseFormat: { type: 'json_schema', name: 'city', schema, strict: true } }),
      new RequestContext(),
    );
    if (res.type !== 'completion') throw new Error('expected a completion');
    expect(JSON.parse(res.message.content ?? '')).toMatchObject({ city: expect.any(String) });
  });

  it('completes a stream whose server never sends [DONE] once finish and usage arrived', async () => {
    fake.fail('gpt-nodone', { type: 'no_done' });
    const { chunks, error } = await drain(await client()(ask('gpt-nodone', { stream: true }), new RequestContext()));
    expect(error).toBeUndefined();
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', usage: { outputTokens: 24 } });
  });

  it('skips a malformed event by default, and fails with provider_error when told to', async () => {
    fake.always('gpt-malformed', { type: 'malformed_sse', atChunk: 2 });
    const skipped = await drain(await client()(ask('gpt-malformed', { stream: true }), new RequestContext()));
    expect(skipped.error).toBeUndefined();
    expect(skipped.chunks.at(-1)?.type).toBe('finish');
    const strict = client({ onMalformedEvent: 'fail' });
    const failed = await drain(await strict(ask('gpt-malformed', { stream: true }), new RequestContext()));
    expect(failureOf(failed.error)).toMatchObject({ kind: 'provider_error' });
    expect(failed.chunks.length).toBe(2);
  });

  it('fails a stream cut after N chunks with stream_interrupted counting them, recording no usage', async () => {
    fake.fail('gpt-cut', { type: 'cut_stream', afterChunks: 3 });
    const ctx = new RequestContext();
    const { chunks, error } = await drain(await client()(ask('gpt-cut', { stream: true }), ctx));
    expect(chunks).toHaveLength(3);
    expect(failureOf(error)).toEqual({ kind: 'stream_interrupted', emittedChunks: 3 });
    expect(ctx.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  it('gives a slow consumer every chunk sent before a cut: exactly N, every time', async () => {
    fake.model('gpt-cut-slow', { outputTokens: 60 });
    for (let run = 0; run < 3; run++) {
      fake.fail('gpt-cut-slow', { type: 'cut_stream', afterChunks: 40 });
      const res = await client()(ask('gpt-cut-slow', { stream: true }), new RequestContext());
      if (res.type !== 'stream') throw new Error('expected a stream');
      let texts = 0;
      let error: unknown;
      try {
        for await (const c of res.chunks) {
          if (c.type === 'text-delta') texts++;
          // A consumer slower than the network: the cut arrives while chunks wait to be read.
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      } catch (e) {
        error = e;
      }
      expect(texts).toBe(40);
      expect(failureOf(error)).toEqual({ kind: 'stream_interrupted', emittedChunks: 40 });
    }
  });

  it('fails a stream that closes cleanly without a finish reason with stream_interrupted', async () => {
    fake.fail('gpt-stall', { type: 'stall', afterChunks: 2, stallMs: 5 });
    const { error } = await drain(await client()(ask('gpt-stall', { stream: true }), new RequestContext()));
    expect(failureOf(error)).toEqual({ kind: 'stream_interrupted', emittedChunks: 2 });
  });

  it('throws the timeout given as abort reason while a stream is stalled', async () => {
    fake.fail('gpt-stall2', { type: 'stall', afterChunks: 1, stallMs: 60_000 });
    const controller = new AbortController();
    const res = await client()(ask('gpt-stall2', { stream: true }), new RequestContext({ signal: controller.signal }));
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    expect((await it.next()).value.type).toBe('text-delta');
    const pending = it.next();
    const timeout = new RelError({ kind: 'timeout', phase: 'idle', limitMs: 20 });
    controller.abort(timeout);
    await expect(pending).rejects.toBe(timeout);
  });

  it('cancels a hung request: the timeout reason when a timeout aborted it, cancelled for a caller abort', async () => {
    fake.always('gpt-hang', { type: 'hang' });
    const timedOut = new AbortController();
    const pending = client()(ask('gpt-hang'), new RequestContext({ signal: timedOut.signal }));
    const timeout = new RelError({ kind: 'timeout', phase: 'total', limitMs: 30 });
    setImmediate(() => timedOut.abort(timeout));
    await expect(pending).rejects.toBe(timeout);

    const cancelled = new AbortController();
    const pending2 = client()(ask('gpt-hang', { stream: true }), new RequestContext({ signal: cancelled.signal }));
    setImmediate(() => cancelled.abort());
    expect(failureOf(await pending2.catch((e: unknown) => e))).toMatchObject({ kind: 'cancelled' });
  });
});

describe('openaiCompatible failure mapping over HTTP', () => {
  const errorOf = (model: string, more: Partial<LlmRequest> = {}) =>
    client()(ask(model, more), new RequestContext()).catch((e: unknown) => e);

  it('maps 429 to rate_limited with the Retry-After wait, for streams before any chunk too', async () => {
    fake.fail('gpt-429', { type: 'rate_limit', retryAfterSeconds: 2 }, 2);
    expect(failureOf(await errorOf('gpt-429'))).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 2000 });
    expect(failureOf(await errorOf('gpt-429', { stream: true }))).toMatchObject({ kind: 'rate_limited' });
  });

  it('reads an HTTP-date Retry-After and x-ratelimit-reset headers', async () => {
    const clock = new FakeClock(Date.UTC(2025, 9, 21, 7, 27, 30));
    fake.fail('gpt-date', { type: 'status', status: 429, retryAfter: 'Tue, 21 Oct 2025 07:28:00 GMT' });
    const dated = await client()(ask('gpt-date'), new RequestContext({ clock })).catch((e: unknown) => e);
    expect(failureOf(dated)).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 30_000 });
    fake.fail('gpt-reset', {
      type: 'status',
      status: 429,
      headers: { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1m30s' },
    });
    expect(failureOf(await errorOf('gpt-reset'))).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 90_000 });
  });

  it('maps 408, 409, 5xx and 529 to retryable provider_unavailable', async () => {
    for (const status of [408, 409, 500, 502, 503, 529]) {
      fake.fail('gpt-5xx', { type: 'status', status });
      const err = await errorOf('gpt-5xx');
      expect(failureOf(err)).toMatchObject({ kind: 'provider_unavailable', status });
      expect(RelError.is(err) && err.info.retryable).toBe(true);
    }
  });

  it('maps 401 and 403 to unauthorized, never retryable', async () => {
    for (const status of [401, 403]) {
      fake.fail('gpt-auth', { type: 'status', status });
      const err = await errorOf('gpt-auth');
      expect(failureOf(err)).toEqual({ kind: 'unauthorized', origin: 'provider', status });
      expect(RelError.is(err) && err.info.retryable).toBe(false);
    }
  });

  it('maps context_length_exceeded and content_policy_violation', async () => {
    fake.fail('gpt-ctx', { type: 'context_length' });
    expect(failureOf(await errorOf('gpt-ctx'))).toMatchObject({ kind: 'context_length_exceeded' });
    fake.fail('gpt-policy', { type: 'content_filter' });
    expect(failureOf(await errorOf('gpt-policy'))).toMatchObject({ kind: 'content_filtered' });
  });

  it('maps a connection reset before any byte to provider_unavailable', async () => {
    fake.fail('gpt-reset-socket', { type: 'reset' });
    const err = await errorOf('gpt-reset-socket');
    expect(failureOf(err)).toMatchObject({ kind: 'provider_unavailable' });
    expect(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']).toContain((failureOf(err) as { code?: string }).code);
  });

  it('maps a refused connection to provider_unavailable ECONNREFUSED', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const h = openaiCompatible({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: '' });
    const err = await h(ask('any'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'provider_unavailable', code: 'ECONNREFUSED' });
  });
});

describe('openaiCompatible options', () => {
  it('exposes provider name, base URL, address and port for telemetry', () => {
    const h = openaiCompatible({ baseURL: 'http://localhost:11434/v1/', apiKey: '', name: 'ollama' });
    expect([h.providerName, h.baseURL, h.serverAddress, h.serverPort]).toEqual([
      'ollama',
      'http://localhost:11434/v1',
      'localhost',
      11434,
    ]);
  });

  it('rejects a bad option at once, naming the field', () => {
    expect(() => openaiCompatible({ baseURL: 'ftp://x', apiKey: '' })).toThrow(/baseURL/);
    expect(() => openaiCompatible({ baseURL: 'http://x', apiKey: 3 } as never)).toThrow(/apiKey/);
    expect(() => openaiCompatible({ baseURL: 'http://x', apiKey: '', headers: { a: 1 } } as never)).toThrow(
      /headers\.a/,
    );
    // A header HTTP cannot carry fails when the adapter is made, not on every call.
    for (const headers of [{ 'bad name': 'x' }, { 'x-ok': 'line\nbreak' }] as Record<string, string>[]) {
      const name = Object.keys(headers)[0];
      expect(() => openaiCompatible({ baseURL: 'http://x', apiKey: '', headers })).toThrow(
        expect.objectContaining({
          failure: expect.objectContaining({ kind: 'invalid_request', param: `headers.${name}` }),
        }),
      );
    }
  });
});

describe('openaiCompatible against recorded wire answers', () => {
  let recorded: FixtureServer;
  beforeAll(async () => {
    recorded = await startFixtureServer({
      completion: { file: 'openai/completion.json' },
      stream: { file: 'openai/text-stream.sse', chunkSize: 3 },
      'error-200': { body: '{"error":{"code":502,"message":"Provider returned error"}}' },
      'not-json-200': { body: 'upstream said: <b>oops</b>' },
      'html-502': { body: '<html>502 Bad Gateway</html>', status: 502 },
    });
  });
  afterAll(() => recorded.close());
  const h = () => openaiCompatible({ baseURL: recorded.baseURL, apiKey: '', name: 'vllm' });

  it('reads cached and reasoning tokens and the exact version from a recorded completion', async () => {
    const ctx = new RequestContext();
    const res = await h()(ask('completion'), ctx);
    expect(res).toMatchObject({ model: 'o4-mini-2025-04-16', provider: 'vllm', finishReason: 'stop' });
    const usage = { inputTokens: 1117, outputTokens: 46, cachedInputTokens: 1024, reasoningTokens: 30 };
    expect(res.type === 'completion' && res.usage).toEqual(usage);
    expect(ctx.usage).toEqual(usage);
    expect(recorded.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('replays a JSON answer to a streaming request as chunks, recording usage once', async () => {
    const ctx = new RequestContext();
    const res = await h()(ask('completion', { stream: true }), ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done.message.content).toBe('Otters hold hands while sleeping.');
    expect(done.model).toBe('o4-mini-2025-04-16');
    expect(ctx.usage.inputTokens).toBe(1117);
  });

  it('streams a recorded OpenAI stream split every 3 bytes over HTTP, sending include_usage', async () => {
    const res = await h()(ask('stream', { stream: true, maxTokens: 50 }), new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done.message.content).toBe('Hello! How can I assist you — today? ☕');
    expect(done.usage.cachedInputTokens).toBe(1024);
    const sent = recorded.requests.at(-1);
    expect(sent?.body).toMatchObject({ stream: true, stream_options: { include_usage: true }, max_tokens: 50 });
    expect(sent?.headers.accept).toBe('text/event-stream');
  });

  it('leaves no abort listener on the context signal after a completion or a finished stream', async () => {
    const ctx = new RequestContext();
    await h()(ask('completion'), ctx);
    const res = await h()(ask('stream', { stream: true }), ctx);
    if (res.type === 'stream') await collectStream(res);
    expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
  });

  it('maps an error body sent with 200 by its code, and a 200 that is not JSON to provider_error', async () => {
    const e1 = await h()(ask('error-200'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(e1)).toMatchObject({ kind: 'provider_unavailable', status: 502 });
    const e2 = await h()(ask('not-json-200'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(e2)).toEqual({ kind: 'provider_error', status: 200, body: 'upstream said: <b>oops</b>' });
  });

  it('keeps a 502 with an HTML body retryable', async () => {
    const err = await h()(ask('html-502'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'provider_unavailable', status: 502 });
    expect(RelError.is(err) && err.message).toContain('502 Bad Gateway');
  });
});
