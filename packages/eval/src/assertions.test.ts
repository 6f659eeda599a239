import type { Completion } from '@rel/core';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  type CaseOutput,
  containsAssertion,
  customAssertion,
  equalsAssertion,
  jsonSchemaAssertion,
  maxCostAssertion,
  maxLatencyAssertion,
  regexAssertion,
} from './assertions';
import { costOf } from './cost';

function output(text: string, extra: Partial<CaseOutput> = {}): CaseOutput {
  const completion: Completion = {
    type: 'completion',
    id: 'x',
    requestedModel: 'm',
    model: 'm-2024',
    message: { role: 'assistant', content: text },
    finishReason: 'stop',
    usage: { inputTokens: 10, outputTokens: 5 },
  };
  return { text, completion, latencyMs: 100, costUsd: 0.001, ...extra };
}
const ctx = {
  task: 't',
  caseId: 'c',
  vars: {},
  request: { model: 'm', messages: [{ role: 'user' as const, content: 'q' }] },
};

describe('assertions', () => {
  it('equals compares the trimmed text, or a JSON path deeply', async () => {
    expect((await equalsAssertion('yes').check(output(' yes\n'), ctx)).pass).toBe(true);
    expect((await equalsAssertion('yes').check(output('no'), ctx)).message).toMatch(/expected "yes", got "no"/);
    const json = output('{"a":{"b":[1,{"c":2}]}}');
    expect((await equalsAssertion(2, 'a.b.1.c').check(json, ctx)).pass).toBe(true);
    expect((await equalsAssertion([1, { c: 2 }], 'a.b').check(json, ctx)).pass).toBe(true);
    expect((await equalsAssertion(3, 'a.b.1.c').check(json, ctx)).message).toMatch(/a\.b\.1\.c: expected 3, got 2/);
    expect((await equalsAssertion(1, 'a.x').check(json, ctx)).message).toMatch(/no a\.x/);
    expect((await equalsAssertion(1, 'a').check(output('not json'), ctx)).message).toMatch(/not JSON/);
  });

  it('contains and regex look at the text', async () => {
    expect((await containsAssertion('Refund').check(output('your refund'), ctx)).pass).toBe(false);
    expect((await containsAssertion('Refund', true).check(output('your refund'), ctx)).pass).toBe(true);
    const starts = regexAssertion('^[A-Z]');
    expect((await starts.check(output('Hello'), ctx)).pass).toBe(true);
    expect((await starts.check(output('hello'), ctx)).pass).toBe(false);
    const global = regexAssertion('a', 'gi');
    // A global flag must not make a compiled regex stateful across runs.
    expect([(await global.check(output('A'), ctx)).pass, (await global.check(output('A'), ctx)).pass]).toEqual([
      true,
      true,
    ]);
  });

  it('jsonSchema names the first violations', async () => {
    const validate = new Ajv({ allErrors: true }).compile({
      type: 'object',
      properties: { total: { type: 'number' } },
      required: ['total'],
    });
    const a = jsonSchemaAssertion(validate, 'invoice.json');
    expect((await a.check(output('{"total": 3}'), ctx)).pass).toBe(true);
    expect((await a.check(output('{}'), ctx)).message).toMatch(/invoice\.json: \/ must have required property 'total'/);
    expect((await a.check(output('{"total":'), ctx)).message).toMatch(/not JSON/);
  });

  it('custom accepts a boolean or { pass, message } and turns a throw into a failure', async () => {
    const seen: unknown[] = [];
    const ok = customAssertion(
      (text, c) => {
        seen.push(c.options, c.completion.finishReason, c.caseId);
        return text.length > 2;
      },
      'len.mjs',
      { min: 2 },
    );
    expect((await ok.check(output('abc'), ctx)).pass).toBe(true);
    expect(seen).toEqual([{ min: 2 }, 'stop', 'c']);
    expect((await ok.check(output('a'), ctx)).message).toBe('len.mjs returned false');
    const msg = customAssertion(async () => ({ pass: false, message: 'too rude' }), 'tone.mjs');
    expect((await msg.check(output('x'), ctx)).message).toBe('tone.mjs: too rude');
    const boom = customAssertion(() => {
      throw new Error('bad');
    }, 'boom.mjs');
    expect((await boom.check(output('x'), ctx)).message).toBe('boom.mjs threw: bad');
    const odd = customAssertion(() => 'yes' as never, 'odd.mjs');
    expect((await odd.check(output('x'), ctx)).pass).toBe(false);
  });

  it('maxLatencyMs and maxCostUsd compare with the measured values', async () => {
    expect((await maxLatencyAssertion(100).check(output('x'), ctx)).pass).toBe(true);
    expect((await maxLatencyAssertion(99).check(output('x'), ctx)).message).toBe('latency 100 ms > 99 ms');
    expect((await maxCostAssertion(0.001).check(output('x'), ctx)).pass).toBe(true);
    expect((await maxCostAssertion(0.0005).check(output('x'), ctx)).pass).toBe(false);
    expect((await maxCostAssertion(1).check(output('x', { costUsd: undefined }), ctx)).message).toMatch(
      /no price for model m-2024/,
    );
  });
});

describe('costOf', () => {
  const prices = { 'gpt-demo': { input: 2, output: 8, cachedInput: 0.5 }, 'gpt-demo-v2': { input: 1, output: 1 } };

  it('prices per million tokens, cached input at its own price', () => {
    expect(costOf({ inputTokens: 1000, outputTokens: 100 }, ['gpt-demo'], prices)).toBeCloseTo(0.0028, 12);
    expect(costOf({ inputTokens: 1000, outputTokens: 0, cachedInputTokens: 400 }, ['gpt-demo'], prices)).toBeCloseTo(
      (600 * 2 + 400 * 0.5) / 1e6,
      12,
    );
  });

  it('prefers the model that answered, falls back to the one asked for, and is undefined without a price', () => {
    expect(costOf({ inputTokens: 1e6, outputTokens: 0 }, ['gpt-demo-v2', 'gpt-demo'], prices)).toBe(1);
    expect(costOf({ inputTokens: 1e6, outputTokens: 0 }, ['gpt-demo-2024', 'gpt-demo'], prices)).toBe(2);
    expect(costOf({ inputTokens: 1, outputTokens: 1 }, ['other', 'toString'], prices)).toBeUndefined();
  });
});
