import { RelError } from '@rel/core';
import { describe, expect, it } from 'vitest';
import { mapNetworkFailure } from './network-failure';

/** The shape undici gives: `TypeError: fetch failed` with the system error as `cause`. */
const fetchFailed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });
const sysError = (code: string) => Object.assign(new Error(code), { code });

describe('mapNetworkFailure', () => {
  it('maps reset, refused, DNS and TLS errors behind fetch failed to provider_unavailable with the code', () => {
    for (const code of [
      'ECONNRESET',
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ]) {
      expect(mapNetworkFailure(fetchFailed(sysError(code))).failure).toEqual({ kind: 'provider_unavailable', code });
    }
  });

  it('finds a code inside an AggregateError (happy eyeballs) and an unexplained fetch failure', () => {
    const agg = new AggregateError([sysError('ECONNREFUSED'), sysError('ECONNREFUSED')], 'all failed');
    expect(mapNetworkFailure(fetchFailed(agg)).failure).toEqual({ kind: 'provider_unavailable', code: 'ECONNREFUSED' });
    expect(mapNetworkFailure(new TypeError('fetch failed')).failure).toEqual({
      kind: 'provider_unavailable',
      code: 'fetch_failed',
    });
  });

  it('returns the RelError an aborted signal carries, and cancelled for a plain abort', () => {
    const c = new AbortController();
    const timeout = new RelError({ kind: 'timeout', phase: 'total' });
    c.abort(timeout);
    expect(mapNetworkFailure(new DOMException('aborted', 'AbortError'), c.signal)).toBe(timeout);
    expect(mapNetworkFailure(new DOMException('aborted', 'AbortError')).failure.kind).toBe('cancelled');
  });

  it('keeps anything else as internal, with the cause', () => {
    const boom = new Error('boom');
    const err = mapNetworkFailure(boom);
    expect(err.failure).toEqual({ kind: 'internal', message: 'boom' });
    expect(err.cause).toBe(boom);
  });
});
