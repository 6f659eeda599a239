import { RelError, type RelFailure } from '@rel/core';
import { describe, expect, it } from 'vitest';
import { failureOf, isRetryable } from './is-retryable';

describe('isRetryable', () => {
  it('retries rate limits, unavailability and timeouts', () => {
    const yes: RelFailure[] = [
      { kind: 'rate_limited', retryAfterMs: 1 },
      { kind: 'provider_unavailable', status: 503 },
      { kind: 'timeout', phase: 'first_token' },
      { kind: 'provider_error', status: 502 },
      { kind: 'invalid_request', status: 408 },
      { kind: 'invalid_request', status: 409 },
    ];
    for (const f of yes) expect(isRetryable(f), f.kind).toBe(true);
  });

  it('never retries an abort, another 4xx, context length or content filtering', () => {
    const no: RelFailure[] = [
      { kind: 'cancelled' },
      { kind: 'invalid_request', status: 400 },
      { kind: 'invalid_request', status: 413 },
      { kind: 'unauthorized', origin: 'provider', status: 401 },
      { kind: 'context_length_exceeded' },
      { kind: 'content_filtered' },
      { kind: 'stream_interrupted', emittedChunks: 3 },
      { kind: 'provider_error', status: 404 },
      { kind: 'internal', message: 'bug' },
    ];
    for (const f of no) expect(isRetryable(f), f.kind).toBe(false);
  });
});

describe('failureOf', () => {
  it('classifies plain errors by status, socket code and abort', () => {
    expect(failureOf(Object.assign(new Error(), { status: 429 }))).toEqual({ kind: 'rate_limited', status: 429 });
    expect(failureOf(Object.assign(new Error(), { statusCode: 502 }))).toEqual({
      kind: 'provider_unavailable',
      status: 502,
    });
    expect(failureOf(Object.assign(new Error(), { status: 404 }))).toEqual({ kind: 'invalid_request', status: 404 });
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('socket'), { code: 'ECONNRESET' }) });
    expect(failureOf(reset)).toEqual({ kind: 'provider_unavailable', code: 'ECONNRESET' });
    expect(failureOf(new DOMException('aborted', 'AbortError'))).toEqual({ kind: 'cancelled' });
    expect(failureOf(new Error('bug'))).toEqual({ kind: 'internal', message: 'bug' });
    const rel = new RelError({ kind: 'content_filtered' });
    expect(failureOf(rel)).toBe(rel.failure);
  });
});
