import { RelError } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ERROR_BODY_CHARS, mapHttpFailure, parseErrorBody } from './http-failure';

const none = new Headers();
const openaiError = (
  code: string | null,
  message: string,
  type = 'invalid_request_error',
  param: string | null = null,
) => JSON.stringify({ error: { message, type, param, code } });
const anthropicError = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } });

describe('mapHttpFailure', () => {
  it("maps context-window errors in OpenAI's, vLLM's and Anthropic's wordings", () => {
    const openai = openaiError(
      'context_length_exceeded',
      "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
    );
    expect(mapHttpFailure(400, none, openai, 'openai').failure).toEqual({
      kind: 'context_length_exceeded',
      maxContextTokens: 8192,
    });
    const vllm = JSON.stringify({
      object: 'error',
      message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
      type: 'BadRequestError',
      param: null,
      code: 400,
    });
    expect(mapHttpFailure(400, none, vllm, 'vllm').failure).toEqual({
      kind: 'context_length_exceeded',
      maxContextTokens: 4096,
    });
    const claude = anthropicError(
      'invalid_request_error',
      'input length and `max_tokens` exceed context limit: 197153 + 8192 > 200000, decrease input length',
    );
    expect(mapHttpFailure(400, none, claude, 'anthropic').failure).toEqual({
      kind: 'context_length_exceeded',
      maxContextTokens: 200000,
    });
  });

  it("maps content policy codes, Azure's innererror included, to content_filtered", () => {
    expect(mapHttpFailure(400, none, openaiError('content_policy_violation', 'no'), 'openai').failure).toEqual({
      kind: 'content_filtered',
      reason: 'content_policy_violation',
    });
    const azure = JSON.stringify({
      error: { code: 'content_filter', message: 'filtered', innererror: { code: 'ResponsibleAIPolicyViolation' } },
    });
    expect(mapHttpFailure(400, none, azure, 'azure').failure).toEqual({
      kind: 'content_filtered',
      reason: 'ResponsibleAIPolicyViolation',
    });
  });

  it('maps other 4xx to invalid_request naming the param', () => {
    const body = openaiError(null, "Invalid type for 'temperature'", 'invalid_request_error', 'temperature');
    expect(mapHttpFailure(400, none, body, 'openai').failure).toEqual({
      kind: 'invalid_request',
      status: 400,
      param: 'temperature',
    });
    expect(mapHttpFailure(404, none, JSON.stringify({ error: 'model "x" not found' }), 'ollama').failure).toEqual({
      kind: 'invalid_request',
      status: 404,
    });
  });

  it('treats insufficient_quota as a non-retryable provider_error rather than a rate limit', () => {
    const err = mapHttpFailure(429, none, openaiError('insufficient_quota', 'quota', 'insufficient_quota'), 'openai');
    expect(err.failure.kind).toBe('provider_error');
    expect(err.info.retryable).toBe(false);
  });

  it('reads Retry-After as an HTTP-date against the given clock', () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const h = new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:12 GMT' });
    expect(mapHttpFailure(429, h, '', 'openai', clock).failure).toEqual({
      kind: 'rate_limited',
      status: 429,
      retryAfterMs: 12_000,
    });
  });

  it('keeps a non-JSON body cut to a bounded length', () => {
    const html = `<html>${'x'.repeat(10_000)}</html>`;
    const f = mapHttpFailure(418, none, html, 'openai').failure;
    expect(f.kind).toBe('provider_error');
    if (f.kind !== 'provider_error') return;
    expect(f.body?.startsWith('<html>xxx')).toBe(true);
    expect(f.body?.length).toBeLessThanOrEqual(MAX_ERROR_BODY_CHARS + 10);
  });

  it('maps any status and body to a RelError, classifying by status first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.string({ maxLength: 200 }), (status, body) => {
        const err = mapHttpFailure(status, none, body, 'p');
        expect(RelError.is(err)).toBe(true);
        if (status === 401 || status === 403) expect(err.failure.kind).toBe('unauthorized');
        if (status >= 500 || status === 408 || status === 409) expect(err.failure.kind).toBe('provider_unavailable');
        if (status === 429) expect(['rate_limited', 'provider_error']).toContain(err.failure.kind);
      }),
    );
  });
});

describe('parseErrorBody', () => {
  it('reads OpenAI, Anthropic, Ollama and vLLM shapes', () => {
    expect(parseErrorBody(openaiError('c', 'm', 't', 'p'))).toEqual({ code: 'c', message: 'm', type: 't', param: 'p' });
    expect(parseErrorBody(anthropicError('overloaded_error', 'Overloaded'))).toEqual({
      type: 'overloaded_error',
      message: 'Overloaded',
    });
    expect(parseErrorBody('{"error":"model not found"}')).toEqual({ message: 'model not found' });
    expect(parseErrorBody('not json')).toBeUndefined();
    expect(parseErrorBody('[1]')).toBeUndefined();
  });
});
