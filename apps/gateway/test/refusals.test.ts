import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, type Stack, memoryOtel, startStack } from './helpers';

const otel = memoryOtel();
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { otel: otel.providers });
});
afterAll(async () => {
  await stack.close();
  await otel.shutdown();
});

const post = (body: string, key?: string) =>
  fetch(`${stack.gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body,
  });

describe('requests refused before the pipeline', () => {
  it('count in rel.errors by class, log one rel.request record each, and answer an x-request-id', async () => {
    stack.logs.length = 0;
    const prompt = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'my secret plan' }] });
    const answers = [
      await post(prompt), // no key: 401
      await post(prompt, 'sk-not-a-key-0000000000'), // unknown key: 401
      await post('{"model": "chat", "messages": [', KEYS.acme), // malformed JSON: 400
      await post(JSON.stringify({ model: 'chat', messages: [], surprise: 1 }), KEYS.acme), // unknown field: 400
      await post(JSON.stringify({ model: 'gpt-made-up-name', messages: [{ role: 'user', content: 'x' }] }), KEYS.acme), // 404
      await post(JSON.stringify({ model: 'secret', messages: [{ role: 'user', content: 'x' }] }), KEYS.limited), // 403
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 400, 400, 404, 403]);
    for (const r of answers) expect(r.headers.get('x-request-id')).toMatch(/^req_/);

    const errors = await otel.points('rel.errors');
    const byClass = (cls: string) =>
      errors.filter((p) => p.attributes['rel.error.class'] === cls).reduce((n, p) => n + (p.value as number), 0);
    expect(byClass('unauthorized')).toBe(3);
    expect(byClass('invalid_request')).toBe(3);
    // a made-up model name never becomes a label; a configured alias does
    const models = new Set(errors.map((p) => p.attributes['gen_ai.request.model']));
    expect(models).toEqual(new Set(['(unknown)', 'secret']));

    const records = stack.logs.filter((l) => l.includes('"rel.request"')).map((l) => JSON.parse(l));
    expect(records.map((r) => r['rel.error.class'])).toEqual([
      'unauthorized',
      'unauthorized',
      'invalid_request',
      'invalid_request',
      'invalid_request',
      'unauthorized',
    ]);
    expect(records.map((r) => r['rel.request.id'])).toEqual(answers.map((r) => r.headers.get('x-request-id')));
    expect(records.at(-1)?.['rel.org.id']).toBe('acme');
    expect(otel.logRecords()).toHaveLength(6);
    const spans = (await otel.spans()).filter((s) => s.attributes['rel.error.class'] !== undefined);
    expect(spans).toHaveLength(6);
    const all = stack.logs.join('\n');
    for (const secret of ['my secret plan', 'sk-not-a-key', KEYS.acme, KEYS.limited, 'gpt-made-up-name']) {
      expect(all).not.toContain(secret);
    }
  });
});
