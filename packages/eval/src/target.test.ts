import { RelError, RequestContext } from '@rel/core';
import { FakeProvider } from '@rel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletionsUrl, httpTarget, resolveTarget } from './target';

const fake = new FakeProvider();
let server: Awaited<ReturnType<FakeProvider['listen']>>;
beforeAll(async () => {
  server = await fake.listen();
});
afterAll(async () => {
  await server.close();
});

const schema = {
  type: 'object',
  properties: { total: { type: 'number' }, currency: { type: 'string' } },
  required: ['total', 'currency'],
};

describe('chatCompletionsUrl', () => {
  it('appends /chat/completions to a versioned base and /v1/chat/completions to a bare host', () => {
    expect(chatCompletionsUrl('http://h:1/v1')).toBe('http://h:1/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1/v1/')).toBe('http://h:1/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1')).toBe('http://h:1/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1/openai/v1/chat/completions')).toBe('http://h:1/openai/v1/chat/completions');
  });
});

describe('httpTarget against the fake provider over HTTP', () => {
  it('sends the request, maps the completion and usage, and sends the API key', async () => {
    const handler = httpTarget(server.baseURL, { apiKey: 'sk-test' });
    const res = await handler(
      { model: 'gpt-demo', messages: [{ role: 'user', content: 'hello there' }], maxTokens: 5 },
      new RequestContext(),
    );
    expect(res.type).toBe('completion');
    if (res.type !== 'completion') return;
    expect(res.model).toBe('gpt-demo-2024-08-06');
    expect(res.finishReason).toBe('length');
    expect(res.usage.outputTokens).toBe(5);
    expect(res.message.content?.split(' ')).toHaveLength(5);
    expect(fake.attempts.at(-1)?.headers.authorization).toBe('Bearer sk-test');
  });

  it('passes a json_schema response format, so the answer is valid JSON for it', async () => {
    const res = await httpTarget(server.baseURL)(
      {
        model: 'gpt-demo',
        messages: [{ role: 'user', content: 'invoice' }],
        responseFormat: { type: 'json_schema', name: 'inv', schema },
      },
      new RequestContext(),
    );
    const json = JSON.parse(res.type === 'completion' ? (res.message.content ?? '') : '');
    expect(typeof json.total).toBe('number');
    expect(typeof json.currency).toBe('string');
  });

  it('sends request metadata as headers, so x-fake-fault reaches the provider', async () => {
    const res = await httpTarget(server.baseURL)(
      {
        model: 'gpt-demo',
        messages: [{ role: 'user', content: 'invoice' }],
        responseFormat: { type: 'json_schema', name: 'inv', schema },
        metadata: { 'x-fake-fault': JSON.stringify({ type: 'schema_violation' }) },
      },
      new RequestContext(),
    );
    const json = JSON.parse(res.type === 'completion' ? (res.message.content ?? '') : '');
    expect(json.total).toBeUndefined();
  });

  it('maps an HTTP 429 to rate_limited and a closed port to provider_unavailable', async () => {
    const limited = await httpTarget(server.baseURL)(
      {
        model: 'gpt-demo',
        messages: [{ role: 'user', content: 'x' }],
        metadata: { 'x-fake-fault': JSON.stringify({ type: 'rate_limit' }) },
      },
      new RequestContext(),
    ).catch((e: unknown) => e);
    expect(RelError.is(limited) && limited.failure.kind).toBe('rate_limited');
    const closed = await httpTarget('http://127.0.0.1:9/v1')(
      { model: 'gpt-demo', messages: [{ role: 'user', content: 'x' }] },
      new RequestContext(),
    ).catch((e: unknown) => e);
    expect(RelError.is(closed) && closed.failure.kind).toBe('provider_unavailable');
    expect((closed as Error).message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/);
  });
});

describe('resolveTarget', () => {
  it('labels a URL without its credentials', async () => {
    const t = await resolveTarget('http://user:secret@127.0.0.1:8080/v1');
    expect(t.label).toBe('http://127.0.0.1:8080/v1');
  });

  it('imports a module exporting handler, and names a module that exports none', async () => {
    const t = await resolveTarget('test/fixtures/fake-handler.ts', { cwd: `${import.meta.dirname}/..` });
    const res = await t.handler({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, new RequestContext());
    expect(res.type).toBe('completion');
    const error = await resolveTarget('src/cost.ts', { cwd: `${import.meta.dirname}/..` }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('--target: src/cost.ts does not export a function named handler');
    const missing = await resolveTarget('nope.mjs', { cwd: `${import.meta.dirname}/..` }).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/^--target: cannot import nope\.mjs/);
  });
});
