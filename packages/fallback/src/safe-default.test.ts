import { describe, expect, it } from 'vitest';
import { request } from '../test/helpers';
import { SafeDefaultSchema, safeDefaultAnswer } from './safe-default';

describe('safeDefaultAnswer', () => {
  it('answers text with zero usage under the rel-safe-default model', () => {
    const res = safeDefaultAnswer({ text: 'Try again later.' }, request);
    expect(res.ok && [res.completion.model, res.completion.message.content, res.completion.usage]).toEqual([
      'rel-safe-default',
      'Try again later.',
      { inputTokens: 0, outputTokens: 0 },
    ]);
  });

  it('refuses text where the request asks for JSON', () => {
    const res = safeDefaultAnswer({ text: 'sorry' }, { ...request, responseFormat: { type: 'json_object' } });
    expect(res).toEqual({ ok: false, issues: ['$: not valid JSON'] });
  });

  it('checks a JSON default against the request’s schema at use', () => {
    const responseFormat = {
      type: 'json_schema' as const,
      name: 'r',
      schema: { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } },
    };
    expect(safeDefaultAnswer({ json: { answer: 'n/a' } }, { ...request, responseFormat }).ok).toBe(true);
    expect(safeDefaultAnswer({ json: { answer: 1 } }, { ...request, responseFormat })).toEqual({
      ok: false,
      issues: ['$.answer: expected string, got number'],
    });
  });

  it('validates a JSON default against its own schema when parsed', () => {
    expect(SafeDefaultSchema.safeParse({ json: {}, schema: { required: ['a'] } }).success).toBe(false);
    expect(SafeDefaultSchema.safeParse({ json: { a: 1 }, schema: { required: ['a'] } }).success).toBe(true);
  });
});
