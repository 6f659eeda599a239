import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResetDuration, parseRetryAfter, retryAfterFromHeaders } from './retry-after';

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  it('reads delay-seconds, including fractions', () => {
    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
  });

  it('reads an HTTP-date relative to now and never goes negative', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
  });

  it('rejects what is neither', () => {
    for (const v of ['', '-1', 'soon', '1e3', 'NaN']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });

  it('property: any non-negative seconds value round-trips to milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), (s) => {
        expect(parseRetryAfter(String(s), now)).toBe(s * 1000);
      }),
    );
  });

  it('property: never negative, never NaN, for any string', () => {
    fc.assert(
      fc.property(fc.string(), (v) => {
        const r = parseRetryAfter(v, now);
        if (r !== undefined) expect(r).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('parseResetDuration', () => {
  it('reads OpenAI reset durations', () => {
    expect(parseResetDuration('1s')).toBe(1_000);
    expect(parseResetDuration('6m0s')).toBe(360_000);
    expect(parseResetDuration('20ms')).toBe(20);
    expect(parseResetDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseResetDuration('2')).toBe(2_000);
    expect(parseResetDuration('x')).toBeUndefined();
    expect(parseResetDuration('')).toBeUndefined();
  });

  it('property: formatted minutes and seconds round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), (m, s) => {
        expect(parseResetDuration(`${m}m${s}s`)).toBe(m * 60_000 + s * 1_000);
      }),
    );
  });
});

describe('retryAfterFromHeaders', () => {
  it('prefers retry-after-ms, then Retry-After, then the longest reset hint', () => {
    expect(retryAfterFromHeaders({ 'retry-after-ms': '250', 'retry-after': '9' }, 0)).toBe(250);
    expect(retryAfterFromHeaders(new Headers({ 'Retry-After': '2' }), 0)).toBe(2_000);
    expect(retryAfterFromHeaders({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, 0)).toBe(
      360_000,
    );
    expect(retryAfterFromHeaders({ 'anthropic-ratelimit-requests-reset': '1970-01-01T00:00:05Z' }, 1_000)).toBe(4_000);
    expect(retryAfterFromHeaders({ 'content-type': 'application/json' }, 0)).toBeUndefined();
  });
});
