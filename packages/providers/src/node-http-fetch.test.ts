import { getEventListeners } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelError, RequestContext, collectStream } from '@rel/core';
import { FakeProvider, type FakeServer } from '@rel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeHttpFetch } from './node-http-fetch';
import { openaiCompatible } from './openai-compatible';

const failureOf = (e: unknown) => (RelError.is(e) ? e.failure : e);

describe('nodeHttpFetch: the adapters on node:http against the fake provider over HTTP', () => {
  const fake = new FakeProvider();
  let server: FakeServer;
  beforeAll(async () => {
    server = await fake.listen();
  });
  afterAll(() => server.close());
  const handler = () => openaiCompatible({ baseURL: server.baseURL, apiKey: 'sk-test', fetch: nodeHttpFetch() });
  const ask = (model: string, stream = false) => ({
    model,
    messages: [{ role: 'user' as const, content: 'What is the capital of France?' }],
    stream,
  });

  it('answers a completion with usage, sending the idempotency key', async () => {
    const ctx = new RequestContext();
    const res = await handler()(ask('gpt-node'), ctx);
    expect(res.type === 'completion' && (res.message.content ?? '').length).toBeGreaterThan(0);
    expect(ctx.usage.outputTokens).toBeGreaterThan(0);
    expect(fake.attemptsFor('gpt-node').at(-1)?.idempotencyKey).toBe(ctx.idempotencyKey);
  });

  it('streams the same answer as the completion, chunk by chunk', async () => {
    const whole = await handler()(ask('gpt-node-stream'), new RequestContext());
    const res = await handler()(ask('gpt-node-stream', true), new RequestContext());
    if (res.type !== 'stream' || whole.type !== 'completion') throw new Error('expected a stream and a completion');
    const collected = await collectStream(res);
    expect(collected.message.content).toBe(whole.message.content);
  });

  it('leaves no listener on the context once a call or its stream is over', async () => {
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal });
    await handler()(ask('gpt-node-listeners'), ctx);
    const res = await handler()(ask('gpt-node-listeners', true), ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    await collectStream(res);
    fake.fail('gpt-node-listeners-429', { type: 'rate_limit', retryAfterSeconds: 1 });
    const failed = await handler()(ask('gpt-node-listeners-429'), ctx).catch((e: unknown) => e);
    expect(RelError.is(failed)).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('maps a 429 to rate_limited with the Retry-After wait', async () => {
    fake.fail('gpt-node-429', { type: 'rate_limit', retryAfterSeconds: 2 });
    const err = await handler()(ask('gpt-node-429'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 2000 });
  });

  it('maps a reset before any byte to provider_unavailable with the system code', async () => {
    fake.fail('gpt-node-reset', { type: 'reset' });
    const err = await handler()(ask('gpt-node-reset'), new RequestContext()).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'provider_unavailable', code: 'ECONNRESET' });
  });

  it('reports a stream cut mid-body as stream_interrupted, after the chunks that arrived', async () => {
    fake.fail('gpt-node-cut', { type: 'cut_stream', afterChunks: 3 });
    const res = await handler()(ask('gpt-node-cut', true), new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of res.chunks) seen.push(chunk.type);
    })().catch((e: unknown) => e);
    expect(failureOf(err)).toMatchObject({ kind: 'stream_interrupted' });
    expect(seen.filter((t) => t === 'text-delta').length).toBeGreaterThanOrEqual(1);
  });

  it('surfaces the abort reason of the context (a timeout) rather than a socket error', async () => {
    fake.fail('gpt-node-hang', { type: 'hang' });
    const caller = new AbortController();
    const timeout = new RelError({ kind: 'timeout', phase: 'total', limitMs: 5 });
    const pending = handler()(ask('gpt-node-hang'), new RequestContext({ signal: caller.signal })).catch(
      (e: unknown) => e,
    );
    setTimeout(() => caller.abort(timeout), 20);
    expect(await pending).toBe(timeout);
  });
});

describe('nodeHttpFetch: what it leaves to the caller', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      if (req.url === '/moved') res.writeHead(307, { location: '/elsewhere' }).end('moved');
      else if (req.url === '/empty') res.writeHead(204).end();
      else if (req.url?.startsWith('/echo')) res.writeHead(200).end(`${req.url} ${req.headers.authorization ?? ''}`);
      else res.writeHead(200, { 'content-type': 'text/plain', 'x-two': 'a' }).end(`${req.headers['content-length']}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const fetch = nodeHttpFetch();

  it('returns a redirect as the response instead of following it', async () => {
    const res = await fetch(`${base}/moved`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('/elsewhere');
    expect(await res.text()).toBe('moved');
  });

  it('gives a 204 a response without a body', async () => {
    const res = await fetch(`${base}/empty`, { method: 'POST', body: '' });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
  });

  it('sends the body with its byte length and passes the headers through', async () => {
    const res = await fetch(`${base}/`, { method: 'POST', body: 'héllo', headers: { 'x-one': '1' } });
    expect(await res.text()).toBe('6');
    expect(res.headers.get('x-two')).toBe('a');
  });

  it('sends each URL to its own path and query, the same URL again included, with credentials in the URL', async () => {
    const urls = [`${base}/echo/a?x=1`, `${base}/echo/b`, `${base}/echo/a?x=1`, `${base}/echo/a?x=2`];
    const seen: string[] = [];
    for (const url of urls) seen.push(await (await fetch(url, { method: 'POST', body: '' })).text());
    expect(seen).toEqual(['/echo/a?x=1 ', '/echo/b ', '/echo/a?x=1 ', '/echo/a?x=2 ']);
    const withUser = base.replace('http://', 'http://user:p%40ss@');
    const res = await fetch(`${withUser}/echo/auth`, { method: 'POST', body: '' });
    expect(await res.text()).toBe(`/echo/auth Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  });

  it('refuses a body that is not a string and a protocol other than http(s), saying so', async () => {
    await expect(fetch(`${base}/`, { method: 'POST', body: new Uint8Array([1]) })).rejects.toThrow(
      'nodeHttpFetch: the body must be a string',
    );
    await expect(fetch('ftp://127.0.0.1/', { method: 'GET' })).rejects.toThrow(
      'nodeHttpFetch: unsupported protocol ftp:',
    );
  });

  it('fails a refused connection with the system code the adapters map', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await openaiCompatible({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: '', fetch })(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      new RequestContext(),
    ).catch((e: unknown) => e);
    expect(failureOf(err)).toEqual({ kind: 'provider_unavailable', code: 'ECONNREFUSED' });
  });
});
