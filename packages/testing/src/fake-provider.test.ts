import { RelError, RequestContext, collectStream, type LlmRequest } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-provider';
import type { FakeServer } from './http-server';
import type { completionBody } from './openai-wire';
import { sseData } from './sse';

type WireCompletion = ReturnType<typeof completionBody>;
const completionOf = async (res: Response) => (await res.json()) as WireCompletion;

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const body = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'Say something useful.' }], ...extra });

async function post(payload: string, headers: Record<string, string> = {}): Promise<Response> {
  if (!server) throw new Error('no server');
  return fetch(`${server.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test', ...headers },
    body: payload,
  });
}

describe('FakeProvider over HTTP', () => {
  it('answers a healthy non-streaming request in the chat.completion shape with the model version', async () => {
    const fake = new FakeProvider().model('gpt-primary', { version: 'gpt-primary-2025-01-01' });
    server = await fake.listen();
    const res = await post(body('gpt-primary'));
    expect(res.status).toBe(200);
    const json = await completionOf(res);
    expect(json).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-primary-2025-01-01',
      choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }],
      usage: { prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(json.id).toMatch(/^chatcmpl-/);
    expect(typeof json.choices[0]?.message.content).toBe('string');
    expect(json.usage.completion_tokens).toBe(24);
    expect(json.usage.total_tokens).toBe(json.usage.prompt_tokens + 24);
  });

  it('streams chunk events with the role first, usage in the last chunk, then [DONE]', async () => {
    const fake = new FakeProvider();
    server = await fake.listen();
    const res = await post(body('m', { stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBe(24);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const plain = await completionOf(await post(body('m')));
    expect(text).toBe(plain.choices[0]?.message.content);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
  });

  it('applies a queued fault to exactly one request, then answers healthily', async () => {
    const fake = new FakeProvider();
    fake.fail('m', { type: 'server_error', status: 502 });
    server = await fake.listen();
    expect((await post(body('m'))).status).toBe(502);
    expect((await post(body('m'))).status).toBe(200);
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['fault:server_error', 'ok']);
  });

  it('applies an `always` fault to every request until reset', async () => {
    const fake = new FakeProvider();
    fake.always('m', { type: 'server_error' });
    server = await fake.listen();
    expect((await post(body('m'))).status).toBe(500);
    expect((await post(body('m'))).status).toBe(500);
    fake.reset();
    expect((await post(body('m'))).status).toBe(200);
  });

  it('records time, model, stream flag, idempotency key, messages and headers of each attempt', async () => {
    const clock = new FakeClock(5_000);
    const fake = new FakeProvider({ clock });
    server = await fake.listen();
    await post(body('a'), { 'Idempotency-Key': 'idem-1' });
    await clock.advance(10);
    await post(body('b', { stream: true }));
    expect(fake.attempts).toHaveLength(2);
    expect(fake.attempts[0]).toMatchObject({
      at: 5_000,
      model: 'a',
      stream: false,
      outcome: 'ok',
      idempotencyKey: 'idem-1',
      messages: [{ role: 'user', content: 'Say something useful.' }],
    });
    expect(fake.attempts[0]?.headers.authorization).toBe('Bearer test');
    expect(fake.attempts[1]).toMatchObject({ at: 5_010, model: 'b', stream: true });
    expect(fake.attempts[1]?.idempotencyKey).toBeUndefined();
    expect(fake.attemptsFor('b')).toHaveLength(1);
  });
});

describe('FakeProvider in-process handler', () => {
  const req: LlmRequest = { model: 'm', messages: [{ role: 'user', content: 'Say something useful.' }] };

  it('returns a Completion, records the idempotency key and reports usage to the context', async () => {
    const fake = new FakeProvider();
    const ctx = new RequestContext({ idempotencyKey: 'key-7' });
    const res = await fake.handler(req, ctx);
    if (res.type !== 'completion') throw new Error('expected a completion');
    expect(res.model).toBe('m-2024-08-06');
    expect(res.finishReason).toBe('stop');
    expect(res.usage.outputTokens).toBe(24);
    expect(ctx.usage).toEqual(res.usage);
    expect(fake.attempts[0]?.idempotencyKey).toBe('key-7');
  });

  it('streams the same text as the HTTP answer, with a finish chunk carrying usage and version', async () => {
    const fake = new FakeProvider();
    server = await fake.listen();
    const http = await completionOf(await post(body('m')));
    const ctx = new RequestContext();
    const res = await fake.handler({ ...req, stream: true }, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done.message.content).toBe(http.choices[0]?.message.content);
    expect(done.model).toBe('m-2024-08-06');
    expect(done.usage).toEqual({ inputTokens: http.usage.prompt_tokens, outputTokens: 24 });
    expect(ctx.usage.outputTokens).toBe(24);
  });

  it('throws rate_limited with retryAfterMs for a queued 429', async () => {
    const fake = new FakeProvider();
    fake.fail('m', { type: 'rate_limit', retryAfterSeconds: 3 });
    const err = await fake.handler(req, new RequestContext()).catch((e) => e);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'rate_limited', status: 429, retryAfterMs: 3000 });
    expect(err.cause).toBeInstanceOf(Error);
  });
});

describe('FakeProvider scripting validation', () => {
  it('refuses a fault count that is not a positive integer, naming it', () => {
    const fake = new FakeProvider();
    for (const times of [0, -1, 1.5, Number.NaN]) {
      expect(() => fake.fail('m', { type: 'reset' }, times)).toThrow(/^fail\('m'\)\.times: /);
    }
    expect(fake.attempts).toEqual([]);
  });

  it('refuses a downFor duration that is negative or not a number, naming it', () => {
    const fake = new FakeProvider();
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => fake.downFor('m', ms)).toThrow(/^downFor\('m'\)\.ms: /);
    }
  });
});
