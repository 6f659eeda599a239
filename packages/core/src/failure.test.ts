import { describe, expect, it } from 'vitest';
import { type RelFailure, failureInfo } from './failure';
import { RelError, toRelError } from './rel-error';

describe('failure taxonomy', () => {
  const cases: Array<[RelFailure, boolean, string, number]> = [
    [{ kind: 'rate_limited', retryAfterMs: 2000 }, true, 'rate_limited', 429],
    [{ kind: 'timeout', phase: 'first_token' }, true, 'timeout', 504],
    [{ kind: 'provider_unavailable', status: 503 }, true, 'unavailable', 503],
    [{ kind: 'provider_error', status: 200, body: 'x' }, false, 'internal', 502],
    [{ kind: 'invalid_request', param: 'messages' }, false, 'invalid_request', 400],
    [{ kind: 'invalid_request', status: 413 }, false, 'invalid_request', 413],
    [{ kind: 'unauthorized', origin: 'client', status: 403 }, false, 'unauthorized', 403],
    [{ kind: 'unauthorized', origin: 'provider', status: 401 }, false, 'internal', 502],
    [{ kind: 'context_length_exceeded' }, false, 'invalid_request', 400],
    [{ kind: 'content_filtered', reason: 'violence' }, false, 'output_blocked', 400],
    [{ kind: 'malformed_output', raw: '{', issues: ['bad'] }, false, 'internal', 502],
    [
      { kind: 'guardrail_blocked', stage: 'input', guardrail: 'injection', categories: [] },
      false,
      'input_rejected',
      400,
    ],
    [{ kind: 'guardrail_blocked', stage: 'output', guardrail: 'deny', categories: [] }, false, 'output_blocked', 422],
    [{ kind: 'budget_exceeded', scope: 'org:a', limitUsd: 1, spentUsd: 1 }, false, 'quota_exceeded', 429],
    [{ kind: 'quota_exceeded', scope: 'user:u', limit: 'rpm' }, false, 'rate_limited', 429],
    [{ kind: 'limit_exceeded', limit: 'tool_depth', value: 9, max: 8 }, false, 'invalid_request', 400],
    [{ kind: 'circuit_open', target: 't' }, false, 'unavailable', 503],
    [{ kind: 'cancelled' }, false, 'cancelled', 499],
    [{ kind: 'stream_interrupted', emittedChunks: 3 }, false, 'unavailable', 502],
    [{ kind: 'dependency_unavailable', dependency: 'store' }, false, 'unavailable', 503],
    [{ kind: 'internal', message: 'x' }, false, 'internal', 500],
  ];
  it.each(cases)('classifies %o', (failure, retryable, userClass, httpStatus) => {
    expect(failureInfo(failure)).toEqual({ retryable, userClass, httpStatus });
  });

  it('recognises a RelError from another copy of the module by its brand', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('rel.error')]: true, failure: { kind: 'cancelled' } });
    expect(RelError.is(foreign)).toBe(true);
    expect(RelError.is(new Error('x'))).toBe(false);
  });

  it('maps an abort to cancelled and keeps a timeout carried as the abort reason', () => {
    const c = new AbortController();
    c.abort();
    expect(toRelError(new DOMException('x', 'AbortError'), c.signal).failure.kind).toBe('cancelled');
    const t = new AbortController();
    const timeout = new RelError({ kind: 'timeout', phase: 'total' });
    t.abort(timeout);
    expect(toRelError(new DOMException('x', 'AbortError'), t.signal)).toBe(timeout);
    const wrapped = toRelError(new TypeError('boom'));
    expect(wrapped.failure).toEqual({ kind: 'internal', message: 'boom' });
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});
