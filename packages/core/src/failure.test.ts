import { describe, expect, it } from 'vitest';
import { type FailureKind, type RelFailure, failureInfo, retryAfterOf } from './failure';
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

  it('has a case above for every failure kind (the Record fails to type-check when a kind is added)', () => {
    const every: Record<FailureKind, true> = {
      rate_limited: true,
      timeout: true,
      provider_unavailable: true,
      provider_error: true,
      invalid_request: true,
      unauthorized: true,
      context_length_exceeded: true,
      content_filtered: true,
      malformed_output: true,
      guardrail_blocked: true,
      budget_exceeded: true,
      quota_exceeded: true,
      limit_exceeded: true,
      circuit_open: true,
      cancelled: true,
      stream_interrupted: true,
      dependency_unavailable: true,
      internal: true,
    };
    expect([...new Set(cases.map(([f]) => f.kind))].sort()).toEqual(Object.keys(every).sort());
  });

  it('supports an exhaustive switch over the union', () => {
    const label = (f: RelFailure): string => {
      switch (f.kind) {
        case 'rate_limited':
        case 'budget_exceeded':
        case 'quota_exceeded':
          return 'slow down';
        case 'timeout':
          return `timeout:${f.phase}`;
        case 'provider_unavailable':
        case 'provider_error':
        case 'invalid_request':
        case 'unauthorized':
        case 'context_length_exceeded':
        case 'content_filtered':
        case 'malformed_output':
        case 'guardrail_blocked':
        case 'limit_exceeded':
        case 'circuit_open':
        case 'cancelled':
        case 'stream_interrupted':
        case 'dependency_unavailable':
        case 'internal':
          return f.kind;
        default: {
          const unreachable: never = f;
          return unreachable;
        }
      }
    };
    expect(cases.map(([f]) => label(f))).toContain('timeout:first_token');
  });

  it('reads the wait a failure asks for, only from the kinds that carry one', () => {
    expect(retryAfterOf({ kind: 'rate_limited', retryAfterMs: 1500 })).toBe(1500);
    expect(retryAfterOf({ kind: 'circuit_open', target: 't', retryAfterMs: 30 })).toBe(30);
    expect(retryAfterOf({ kind: 'quota_exceeded', scope: 's', limit: 'rpm', retryAfterMs: 5 })).toBe(5);
    expect(retryAfterOf({ kind: 'budget_exceeded', scope: 's', limitUsd: 1, spentUsd: 1, retryAfterMs: 9 })).toBe(9);
    expect(retryAfterOf({ kind: 'rate_limited' })).toBeUndefined();
    expect(retryAfterOf({ kind: 'timeout', phase: 'total' })).toBeUndefined();
  });

  it('describes each failure in its message, keeps the cause and exposes its classification', () => {
    const cause = new Error('socket hang up');
    const e = new RelError({ kind: 'provider_unavailable', status: 503 }, { cause });
    expect(e.message).toBe('provider unavailable (HTTP 503)');
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('RelError');
    expect(e).toBeInstanceOf(Error);
    expect(e.info).toEqual({ retryable: true, userClass: 'unavailable', httpStatus: 503 });
    expect(new RelError({ kind: 'timeout', phase: 'idle', limitMs: 500 }).message).toBe(
      'timed out (idle, limit 500 ms)',
    );
    expect(new RelError({ kind: 'rate_limited', retryAfterMs: 2000 }).message).toBe(
      'rate limited; retry after 2000 ms',
    );
    expect(
      new RelError({ kind: 'guardrail_blocked', stage: 'input', guardrail: 'injection', categories: ['jailbreak'] })
        .message,
    ).toBe('input blocked by injection (jailbreak)');
    expect(new RelError({ kind: 'internal', message: 'x' }, { message: 'custom' }).message).toBe('custom');
    for (const [f] of cases) expect(new RelError(f).message.length).toBeGreaterThan(5);
  });
});
