import { getEventListeners } from 'node:events';
import { type Handler, RelError, RequestContext } from '@rel/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FixtureServer, startFixtureServer } from '../test/fixture-server';
import { anthropic } from './anthropic';
import type { FetchFunction } from './http-transport';
import { nodeHttpFetch } from './node-http-fetch';
import { openaiCompatible } from './openai-compatible';

const transports: { transport: string; fetch?: FetchFunction }[] = [
  { transport: 'fetch' },
  { transport: 'nodeHttpFetch', fetch: nodeHttpFetch() },
  // Called through a wrapper, nodeHttpFetch is read as a plain FetchFunction (its Response).
  { transport: 'nodeHttpFetch as a plain FetchFunction', fetch: wrapped(nodeHttpFetch()) },
];

function wrapped(fetch: FetchFunction): FetchFunction {
  return (input, init) => fetch(input, init);
}

/** Every route sends part of its body, then holds the connection open until the client leaves. */
describe.each(
  transports.flatMap(({ transport, fetch }) => [
    {
      name: `openaiCompatible over ${transport}`,
      json: 'openai/completion.json',
      sse: 'openai/text-stream.sse',
      make: (baseURL: string): Handler => openaiCompatible({ baseURL, apiKey: '', ...(fetch ? { fetch } : {}) }),
    },
    {
      name: `anthropic over ${transport}`,
      json: 'anthropic/message.json',
      sse: 'anthropic/text-stream.sse',
      make: (baseURL: string): Handler => anthropic({ baseURL, apiKey: '', ...(fetch ? { fetch } : {}) }),
    },
  ]),
)('$name: a request let go of leaves no listener and no socket', ({ json, sse, make }) => {
  let server: FixtureServer;
  let handler: Handler;
  beforeAll(async () => {
    server = await startFixtureServer({
      'hang-json': { file: json, hangAfterBytes: 20 },
      'hang-head': { file: json, hangBeforeHead: true },
      // Enough for the first text chunk, then nothing more.
      'hang-sse': { file: sse, hangAfterBytes: sse.startsWith('openai') ? 700 : 900 },
    });
    handler = make(server.baseURL);
  });
  afterAll(() => server.close());

  const ask = (model: string, stream: boolean) => ({
    model,
    messages: [{ role: 'user' as const, content: 'hi' }],
    stream,
  });
  async function expectReleased(ctx: RequestContext): Promise<void> {
    expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
    await vi.waitFor(() => expect(server.connections()).toBe(0));
  }
  const kindOf = (e: unknown) => (RelError.is(e) ? e.failure.kind : e);

  it('an abort while a non-streamed body hangs fails cancelled and closes the connection', async () => {
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal });
    const pending = handler(ask('hang-json', false), ctx).catch((e: unknown) => e);
    await vi.waitFor(() => expect(server.connections()).toBe(1));
    controller.abort();
    expect(kindOf(await pending)).toBe('cancelled');
    await expectReleased(ctx);
  });

  it('an abort while the answer has not even begun fails with its reason and closes the connection', async () => {
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal });
    const pending = handler(ask('hang-head', true), ctx).catch((e: unknown) => e);
    await vi.waitFor(() => expect(server.connections()).toBe(1));
    controller.abort(new RelError({ kind: 'timeout', phase: 'first_token', limitMs: 5 }));
    const error = await pending;
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'timeout', phase: 'first_token', limitMs: 5 });
    await expectReleased(ctx);
  });

  it('a context aborted before the call fails cancelled and leaves nothing behind', async () => {
    const controller = new AbortController();
    controller.abort();
    const ctx = new RequestContext({ signal: controller.signal });
    expect(kindOf(await handler(ask('hang-json', false), ctx).catch((e: unknown) => e))).toBe('cancelled');
    await expectReleased(ctx);
  });

  it('an abort in the middle of a stream fails the read cancelled and closes the connection', async () => {
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal });
    const res = await handler(ask('hang-sse', true), ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: 'text-delta' });
    const next = it.next().catch((e: unknown) => e);
    controller.abort();
    expect(kindOf(await next)).toBe('cancelled');
    await expectReleased(ctx);
  });

  it('a consumer that stops reading early closes the connection', async () => {
    const ctx = new RequestContext();
    const res = await handler(ask('hang-sse', true), ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    for await (const chunk of res.chunks) {
      expect(chunk.type).toBe('text-delta');
      break;
    }
    await expectReleased(ctx);
  });

  it('a stream never read is released when the context aborts', async () => {
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal });
    const res = await handler(ask('hang-sse', true), ctx);
    expect(res.type).toBe('stream');
    expect(server.connections()).toBe(1);
    controller.abort();
    await expectReleased(ctx);
  });
});

describe('a huge single server-sent event', () => {
  let server: FixtureServer;
  const huge = `data: {"choices":[{"delta":{"content":"${'x'.repeat(5 * 1024 * 1024)}"}}]}\n\n`;
  beforeAll(async () => {
    server = await startFixtureServer({
      huge: { body: huge, headers: { 'content-type': 'text/event-stream' }, chunkSize: 64 * 1024 },
    });
  });
  afterAll(() => server.close());
  const ask = { model: 'huge', messages: [{ role: 'user' as const, content: 'hi' }], stream: true };

  it.each([
    { limit: 64 * 1024, what: 'the maxEventChars option' },
    { limit: undefined, what: 'the 4 MiB default' },
  ])('fails with provider_error once it passes $what, and lets the connection go', async ({ limit }) => {
    const handler = openaiCompatible({
      baseURL: server.baseURL,
      apiKey: '',
      ...(limit === undefined ? {} : { maxEventChars: limit }),
    });
    const res = await handler(ask, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const chunks: unknown[] = [];
    const error = await (async () => {
      for await (const c of res.chunks) chunks.push(c);
    })().catch((e: unknown) => e);
    expect(chunks).toEqual([]);
    expect(RelError.is(error) && error.failure).toEqual({
      kind: 'provider_error',
      body: `server-sent event longer than ${limit ?? 4 * 1024 * 1024} characters`,
    });
    await vi.waitFor(() => expect(server.connections()).toBe(0));
  });

  it('rejects a maxEventChars that is not a positive integer, naming it', () => {
    expect(() => openaiCompatible({ baseURL: server.baseURL, apiKey: '', maxEventChars: 0 })).toThrow(/maxEventChars/);
    expect(() => anthropic({ apiKey: '', maxEventChars: 1.5 })).toThrow(/maxEventChars/);
  });
});

describe('a huge non-streamed answer', () => {
  let server: FixtureServer;
  const body = JSON.stringify({
    id: 'chatcmpl-huge',
    model: 'm-1',
    choices: [{ message: { content: 'x'.repeat(2 * 1024 * 1024) }, finish_reason: 'stop' }],
  });
  beforeAll(async () => {
    server = await startFixtureServer({ huge: { body, chunkSize: 64 * 1024 } });
  });
  afterAll(() => server.close());
  const ask = { model: 'huge', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('fails with provider_error past maxResponseBytes, recording no usage, and lets the connection go', async () => {
    const ctx = new RequestContext();
    const handler = openaiCompatible({ baseURL: server.baseURL, apiKey: '', maxResponseBytes: 1024 * 1024 });
    const error = await handler(ask, ctx).catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure).toEqual({
      kind: 'provider_error',
      status: 200,
      body: 'response body larger than 1048576 bytes',
    });
    expect(ctx.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
    await vi.waitFor(() => expect(server.connections()).toBe(0));
  });

  it('reads an answer of exactly maxResponseBytes', async () => {
    const handler = openaiCompatible({
      baseURL: server.baseURL,
      apiKey: '',
      maxResponseBytes: new TextEncoder().encode(body).byteLength,
    });
    const res = await handler(ask, new RequestContext());
    expect(res.type === 'completion' && res.message.content?.length).toBe(2 * 1024 * 1024);
  });
});
