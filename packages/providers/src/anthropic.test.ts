import { getEventListeners } from 'node:events';
import { type LlmRequest, RelError, RequestContext, type StreamChunk, collectStream } from '@rel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureServer, startFixtureServer } from '../test/fixture-server';
import { anthropic } from './anthropic';

let server: FixtureServer;

beforeAll(async () => {
  server = await startFixtureServer({
    message: { file: 'anthropic/message.json' },
    'tool-message': { file: 'anthropic/tool-use-message.json' },
    text: { file: 'anthropic/text-stream.sse', chunkSize: 5 },
    'text-crlf': { file: 'anthropic/text-stream.sse', chunkSize: 3, crlf: true },
    tools: { file: 'anthropic/tool-use-stream.sse', chunkSize: 11 },
    thinking: { file: 'anthropic/thinking-stream.sse' },
    'overloaded-stream': { file: 'anthropic/overloaded-stream.sse' },
    'overloaded-mid': { file: 'anthropic/overloaded-mid-stream.sse' },
    cut: { file: 'anthropic/cut-stream.sse', destroy: true },
    malformed: { file: 'anthropic/malformed-stream.sse' },
    json: { file: 'anthropic/json-tool-stream.sse' },
    hang: { file: 'anthropic/text-stream.sse', hangAfterBytes: 900 },
    overloaded: { file: 'anthropic/error-overloaded.json', status: 529 },
    'too-long': { file: 'anthropic/error-prompt-too-long.json', status: 400 },
    'rate-limited': {
      file: 'anthropic/error-rate-limit.json',
      status: 429,
      headers: { 'retry-after': '7', 'anthropic-ratelimit-input-tokens-remaining': '0' },
    },
    'bad-key': { file: 'anthropic/error-authentication.json', status: 401 },
    'html-400': { body: '<html><body>Bad gateway config</body></html>', status: 400 },
  });
});
afterAll(() => server.close());

const client = (extra: Partial<Parameters<typeof anthropic>[0]> = {}) =>
  anthropic({ apiKey: 'sk-ant-test', baseURL: server.baseURL, ...extra });
const ask = (model: string, more: Partial<LlmRequest> = {}): LlmRequest => ({
  model,
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hello' },
  ],
  ...more,
});

async function drain(
  model: string,
  ctx = new RequestContext(),
  h = client(),
  more: Partial<LlmRequest> = {},
): Promise<{ chunks: StreamChunk[]; error?: unknown }> {
  const res = await h(ask(model, { stream: true, ...more }), ctx);
  if (res.type !== 'stream') throw new Error('expected a stream');
  const chunks: StreamChunk[] = [];
  try {
    for await (const c of res.chunks) chunks.push(c);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks };
}

const failureOf = (e: unknown) => (RelError.is(e) ? e.failure : e);

describe('anthropic (non-streaming)', () => {
  it('sends the Messages API request with version, key, idempotency key and a top-level system prompt', async () => {
    const ctx = new RequestContext();
    await client()(ask('message'), ctx);
    const sent = server.requests.at(-1)!;
    expect(sent.url).toBe('/v1/messages');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['x-api-key']).toBe('sk-ant-test');
    expect(sent.headers['idempotency-key']).toBe(ctx.idempotencyKey);
    expect(sent.body).toEqual({
      model: 'message',
      max_tokens: 4096,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
    });
  });

  it('returns the text, exact model version and usage with cache reads counted in the input', async () => {
    const ctx = new RequestContext();
    const res = await client()(ask('message'), ctx);
    expect(res).toMatchObject({
      type: 'completion',
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
      requestedModel: 'message',
      model: 'claude-sonnet-4-5-20250929',
      provider: 'anthropic',
      message: { role: 'assistant', content: 'Hi! My name is Claude.' },
      finishReason: 'stop',
    });
    const usage = { inputTokens: 3895, outputTokens: 503, cachedInputTokens: 1800, cacheCreationInputTokens: 0 };
    expect(res.type === 'completion' && res.usage).toEqual(usage);
    expect(ctx.usage).toEqual(usage);
  });

  it('maps tools, tool choice and tool results to the wire and tool_use blocks back to tool calls', async () => {
    const res = await client()(
      {
        model: 'tool-message',
        messages: [
          { role: 'user', content: 'Weather in SF and Paris?' },
          {
            role: 'assistant',
            content: null,
            toolCalls: [
              { id: 'toolu_1', name: 'get_weather', arguments: '{"location":"SF"}' },
              { id: 'toolu_2', name: 'get_weather', arguments: '{"location":"Paris"}' },
            ],
          },
          { role: 'tool', toolCallId: 'toolu_1', content: '18C' },
          { role: 'tool', toolCallId: 'toolu_2', content: '21C' },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object' } }],
        toolChoice: 'required',
      },
      new RequestContext(),
    );
    const sent = server.requests.at(-1)!.body;
    expect(sent.tools).toEqual([{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' } }]);
    expect(sent.tool_choice).toEqual({ type: 'any' });
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in SF and Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'SF' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { location: 'Paris' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: '21C' },
        ],
      },
    ]);
    expect(res.type === 'completion' && res.message).toEqual({
      role: 'assistant',
      content: "I'll check the current weather in San Francisco for you.",
      toolCalls: [
        {
          id: 'toolu_01A09q90qw90lq917835lq9',
          name: 'get_weather',
          arguments: '{"location":"San Francisco, CA","unit":"celsius"}',
        },
      ],
    });
    expect(res.type === 'completion' && res.finishReason).toBe('tool_calls');
  });
});

describe('anthropic (streaming recorded events)', () => {
  it('assembles text split across network chunks and finishes with usage, model version and id', async () => {
    const ctx = new RequestContext();
    const res = await client()(ask('text', { stream: true }), ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const completion = await collectStream(res);
    expect(completion.message.content).toBe('Hello, wörld! 🌍 How can I help?');
    expect(completion).toMatchObject({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      model: 'claude-sonnet-4-5-20250929',
      provider: 'anthropic',
      finishReason: 'stop',
    });
    const usage = { inputTokens: 2193, outputTokens: 15, cachedInputTokens: 2048, cacheCreationInputTokens: 120 };
    expect(completion.usage).toEqual(usage);
    expect(ctx.usage).toEqual(usage);
    expect(server.requests.at(-1)!.body.stream).toBe(true);
    expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
  });

  it('reads the same stream with CRLF line endings split every 3 bytes', async () => {
    const { chunks, error } = await drain('text-crlf');
    expect(error).toBeUndefined();
    expect(chunks.map((c) => (c.type === 'text-delta' ? c.text : '')).join('')).toBe(
      'Hello, wörld! 🌍 How can I help?',
    );
    expect(chunks.at(-1)?.type).toBe('finish');
  });

  it('streams tool_use blocks as indexed tool-call deltas, an input-less tool as {}', async () => {
    const res = await client()(ask('tools', { stream: true }), new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const completion = await collectStream(res);
    expect(completion.message).toEqual({
      role: 'assistant',
      content: 'Okay, let me check the weather.',
      toolCalls: [
        {
          id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
          name: 'get_weather',
          arguments: '{"location": "San Francisco, CA", "unit": "fahrenheit"}',
        },
        { id: 'toolu_01AbCdEfGhIjKlMnOpQrStUv', name: 'get_time', arguments: '{}' },
      ],
    });
    expect(completion.finishReason).toBe('tool_calls');
    expect(completion.usage).toEqual({ inputTokens: 472, outputTokens: 89 });
  });

  it('drops thinking blocks and maps max_tokens to length', async () => {
    const { chunks } = await drain('thinking');
    expect(chunks).toEqual([
      { type: 'text-delta', text: '27 * 453 = 12,231' },
      {
        type: 'finish',
        finishReason: 'length',
        id: 'msg_01ThinkThinkThinkThink01',
        model: 'claude-opus-4-1-20250805',
        usage: { inputTokens: 40, outputTokens: 64 },
      },
    ]);
  });

  it('serves a JSON response format through a forced tool and streams its input as the text', async () => {
    const h = client();
    const schema = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } } };
    const res = await h(
      ask('json', { stream: true, responseFormat: { type: 'json_schema', name: 'person', schema } }),
      new RequestContext(),
    );
    if (res.type !== 'stream') throw new Error('expected a stream');
    const completion = await collectStream(res);
    expect(JSON.parse(completion.message.content ?? '')).toEqual({ name: 'Ada', age: 36 });
    expect(completion.finishReason).toBe('stop');
    expect(completion.message.toolCalls).toBeUndefined();
    const sent = server.requests.at(-1)!.body;
    expect(sent.tool_choice).toEqual({ type: 'tool', name: 'person' });
    expect(sent.tools).toEqual([
      { name: 'person', description: 'Respond with the answer as this tool input.', input_schema: schema },
    ]);
  });

  it('throws overloaded_error before any chunk as a retryable provider_unavailable 529, recording no usage', async () => {
    const ctx = new RequestContext();
    const { chunks, error } = await drain('overloaded-stream', ctx);
    expect(chunks).toEqual([]);
    expect(failureOf(error)).toEqual({ kind: 'provider_unavailable', status: 529, code: 'overloaded_error' });
    expect(RelError.is(error) && error.info.retryable).toBe(true);
    expect(ctx.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  it('turns an error event after text was yielded into stream_interrupted counting the chunks', async () => {
    const { chunks, error } = await drain('overloaded-mid');
    expect(chunks).toHaveLength(2);
    expect(failureOf(error)).toEqual({ kind: 'stream_interrupted', emittedChunks: 2 });
    expect(RelError.is(error) && RelError.is(error.cause) && error.cause.failure.kind).toBe('provider_unavailable');
  });

  it('fails a stream cut mid-event with stream_interrupted, never a truncated success', async () => {
    const ctx = new RequestContext();
    const { chunks, error } = await drain('cut', ctx);
    expect(chunks.map((c) => c.type)).toEqual(['text-delta', 'text-delta']);
    expect(failureOf(error)).toEqual({ kind: 'stream_interrupted', emittedChunks: 2 });
    expect(ctx.usage.outputTokens).toBe(0);
  });

  it('skips a malformed event by default and fails with provider_error when told to', async () => {
    const skipped = await drain('malformed');
    expect(skipped.error).toBeUndefined();
    expect(skipped.chunks.filter((c) => c.type === 'text-delta').map((c) => c.type === 'text-delta' && c.text)).toEqual(
      ['Before', ' after'],
    );
    const strict = await drain('malformed', new RequestContext(), client({ onMalformedEvent: 'fail' }));
    expect(strict.chunks).toHaveLength(1);
    expect(RelError.is(strict.error) && strict.error.failure.kind).toBe('provider_error');
  });

  it('cancels the stream read when the context aborts, with the timeout passed as the reason', async () => {
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal });
    const res = await client()(ask('hang', { stream: true }), ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: 'text-delta', text: 'Hello' });
    const pending = it.next();
    const timeout = new RelError({ kind: 'timeout', phase: 'idle', limitMs: 10 });
    controller.abort(timeout);
    await expect(pending).rejects.toBe(timeout);
  });

  it('reports a plain caller abort during the stream as cancelled', async () => {
    const controller = new AbortController();
    const res = await client()(ask('hang', { stream: true }), new RequestContext({ signal: controller.signal }));
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    await it.next();
    const pending = it.next();
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('cancelled');
  });
});

describe('anthropic (HTTP failures)', () => {
  it('maps 529 overloaded_error to a retryable provider_unavailable, for streams too', async () => {
    for (const stream of [false, true]) {
      const err = await client()(ask('overloaded', { stream }), new RequestContext()).catch((e: unknown) => e);
      expect(failureOf(err)).toEqual({ kind: 'provider_unavailable', status: 529, code: 'overloaded_error' });
    }
  });

  it("maps Anthropic's 'prompt is too long' wording to context_length_exceeded with the maximum", async () => {
    const err = await client()(ask('too-long'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'context_length_exceeded', maxContextTokens: 200000 });
  });

  it('maps 429 to rate_limited with Retry-After', async () => {
    const err = await client()(ask('rate-limited'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 7000 });
  });

  it('maps 401 to unauthorized, never retryable', async () => {
    const err = await client()(ask('bad-key'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'unauthorized', origin: 'provider', status: 401 });
    expect(RelError.is(err) && err.info.retryable).toBe(false);
  });

  it('keeps the raw text of a non-JSON error body as provider_error', async () => {
    const err = await client()(ask('html-400'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({
      kind: 'provider_error',
      status: 400,
      body: '<html><body>Bad gateway config</body></html>',
    });
  });
});

describe('anthropic (options)', () => {
  it('exposes provider name, base URL, address and port for telemetry', () => {
    const h = anthropic({ apiKey: 'k' });
    expect([h.providerName, h.baseURL, h.serverAddress, h.serverPort]).toEqual([
      'anthropic',
      'https://api.anthropic.com/v1',
      'api.anthropic.com',
      443,
    ]);
  });

  it('rejects a bad option at once, naming the field', () => {
    expect(() => anthropic({ apiKey: 'k', baseURL: 'not a url' })).toThrow(/baseURL/);
    expect(() => anthropic({ apiKey: 'k', defaultMaxTokens: -1 })).toThrow(/defaultMaxTokens/);
    expect(() => anthropic({ apiKey: 'k', bogus: 1 } as never)).toThrow(/bogus/);
  });
});
