import type { LlmRequest } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeAnswer, countPromptTokens, hashMessages, splitTokens } from './answer';

const ask = (content: string, extra: Partial<LlmRequest> = {}): LlmRequest => ({
  model: 'm',
  messages: [{ role: 'user', content }],
  ...extra,
});
const options = { seed: 0, outputTokens: 24 };

describe('composeAnswer', () => {
  it('gives the same text for the same prompt and a different text for a different prompt', () => {
    const a = composeAnswer(ask('What is a river?'), options).pieces.join('');
    expect(composeAnswer(ask('What is a river?'), options).pieces.join('')).toBe(a);
    expect(composeAnswer(ask('What is a mountain?'), options).pieces.join('')).not.toBe(a);
    expect(composeAnswer(ask('What is a river?'), { ...options, seed: 1 }).pieces.join('')).not.toBe(a);
  });

  it('is deterministic for any prompt (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (content, outputTokens) => {
        const one = composeAnswer(ask(content), { seed: 0, outputTokens });
        const two = composeAnswer(ask(content), { seed: 0, outputTokens });
        expect(two).toEqual(one);
        expect(one.completionTokens).toBe(outputTokens);
        expect(one.pieces.join('').trim().split(/\s+/)).toHaveLength(outputTokens);
      }),
    );
  });

  it('counts prompt tokens as ceil(chars / 4) + 3 per message', () => {
    expect(countPromptTokens([{ role: 'user', content: 'abcdefghi' }])).toBe(3 + 3);
    expect(
      countPromptTokens([
        { role: 'system', content: 'x'.repeat(40) },
        { role: 'user', content: '' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'c', name: 'abcd', arguments: '{"a":1}' }] },
      ]),
    ).toBe(10 + 3 + 0 + 3 + 3 + 3);
    expect(composeAnswer(ask('x'.repeat(400)), options).promptTokens).toBe(103);
  });

  it('cuts the answer at maxTokens with finish reason length, and leaves a shorter answer alone', () => {
    const cut = composeAnswer(ask('q', { maxTokens: 6 }), options);
    expect(cut).toMatchObject({ finishReason: 'length', completionTokens: 6 });
    expect(cut.pieces).toHaveLength(6);
    expect(composeAnswer(ask('q', { maxTokens: 100 }), options)).toMatchObject({
      finishReason: 'stop',
      completionTokens: 24,
    });
  });

  it('answers a json_object request with a JSON object', () => {
    const a = composeAnswer(ask('q', { responseFormat: { type: 'json_object' } }), options);
    expect(JSON.parse(a.pieces.join(''))).toEqual({ answer: expect.any(String) });
    expect(a.completionTokens).toBe(a.pieces.length);
  });

  it('answers with a tool call only when the tool choice requires one', () => {
    const tools = [
      { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } },
    ];
    expect(composeAnswer(ask('q', { tools, toolChoice: 'auto' }), options).kind).toBe('text');
    const call = composeAnswer(ask('q', { tools, toolChoice: 'required' }), options);
    expect(call).toMatchObject({ kind: 'tool_call', finishReason: 'tool_calls', toolCall: { name: 'search' } });
    expect(JSON.parse(call.pieces.join(''))).toEqual({ q: expect.any(String) });
  });

  it('hashes roles as well as content', () => {
    expect(hashMessages([{ role: 'user', content: 'x' }], 0)).not.toBe(
      hashMessages([{ role: 'system', content: 'x' }], 0),
    );
  });

  it('splits text into four-character pieces that join back to the text (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const pieces = splitTokens(text);
        expect(pieces.join('')).toBe(text);
        expect(pieces.length).toBe(Math.ceil(text.length / 4));
      }),
    );
  });

  it('produces invalid JSON for the invalid_json variant, whatever the schema (property)', () => {
    const schemas = fc.constantFrom<Record<string, unknown>>(
      { type: 'string' },
      { type: 'integer' },
      { type: 'boolean' },
      { type: 'null' },
      { type: 'array', items: { type: 'number' } },
      { type: 'object', properties: {} },
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
    );
    fc.assert(
      fc.property(schemas, fc.string(), (schema, content) => {
        const req = ask(content, { responseFormat: { type: 'json_schema', name: 's', schema } });
        const text = composeAnswer(req, { ...options, variant: 'invalid_json' }).pieces.join('');
        expect(() => JSON.parse(text)).toThrow();
      }),
    );
  });
});
