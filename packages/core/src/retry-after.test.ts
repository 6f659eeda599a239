import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResetDuration, parseRetryAfter, retryAfterFromHeaders } from './retry-after';

const now = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delay-seconds, including fractions', () => {
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
  });

  it('reads an HTTP-date relative to the given now, a past date as 0', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 11:00:00 GMT', now)).toBe(0);
  });

  it('caps a wait longer than a day and refuses garbage', () => {
    expect(parseRetryAfter('999999999', now)).toBe(86_400_000);
    for (const bad of ['', 'soon', '-1', '1e3', '12abc', undefined, null])
      expect(parseRetryAfter(bad, now)).toBeUndefined();
  });

  it('never throws and yields undefined or a wait within a day, for any string', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const ms = parseRetryAfter(s, now);
        return ms === undefined || (Number.isInteger(ms) && ms >= 0 && ms <= 86_400_000);
      }),
    );
  });
});

describe('parseResetDuration', () => {
  it("reads OpenAI's duration forms", () => {
    expect(parseResetDuration('1s')).toBe(1000);
    expect(parseResetDuration('6m0s')).toBe(360_000);
    expect(parseResetDuration('20ms')).toBe(20);
    expect(parseResetDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseResetDuration('0.5')).toBe(500);
    expect(parseResetDuration('6m0sx')).toBeUndefined();
    expect(parseResetDuration('soon')).toBeUndefined();
  });
});

describe('retryAfterFromHeaders', () => {
  it('prefers retry-after-ms, then Retry-After, then the reset headers', () => {
    const h = new Headers({ 'retry-after-ms': '250', 'retry-after': '3', 'x-ratelimit-reset-requests': '9s' });
    expect(retryAfterFromHeaders(h, now)).toBe(250);
    h.delete('retry-after-ms');
    expect(retryAfterFromHeaders(h, now)).toBe(3000);
    h.delete('retry-after');
    expect(retryAfterFromHeaders(h, now)).toBe(9000);
  });

  it('takes the exhausted limit among OpenAI reset headers, else the earliest reset', () => {
    const h = new Headers({
      'x-ratelimit-reset-requests': '2s',
      'x-ratelimit-remaining-requests': '10',
      'x-ratelimit-reset-tokens': '45s',
      'x-ratelimit-remaining-tokens': '0',
    });
    expect(retryAfterFromHeaders(h, now)).toBe(45_000);
    h.set('x-ratelimit-remaining-tokens', '100');
    expect(retryAfterFromHeaders(h, now)).toBe(2000);
  });

  it('reads anthropic-ratelimit-*-reset RFC 3339 times against now', () => {
    const h = new Headers({
      'anthropic-ratelimit-requests-reset': '2025-01-01T12:00:05Z',
      'anthropic-ratelimit-requests-remaining': '40',
      'anthropic-ratelimit-output-tokens-reset': '2025-01-01T12:00:20Z',
      'anthropic-ratelimit-output-tokens-remaining': '0',
    });
    expect(retryAfterFromHeaders(h, now)).toBe(20_000);
  });

  it('is undefined without any hint', () => {
    expect(retryAfterFromHeaders(new Headers(), now)).toBeUndefined();
  });
});

describe('parseRetryAfter (RFC 9110 cases)', () => {
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

  it('property: any non-negative seconds value up to a day round-trips to milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400 }), (s) => {
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

describe('parseResetDuration (OpenAI durations)', () => {
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

describe('retryAfterFromHeaders (plain records)', () => {
  it('prefers retry-after-ms, then Retry-After, then the reset hint of the exhausted limit', () => {
    expect(retryAfterFromHeaders({ 'retry-after-ms': '250', 'retry-after': '9' }, 0)).toBe(250);
    expect(retryAfterFromHeaders(new Headers({ 'Retry-After': '2' }), 0)).toBe(2_000);
    expect(
      retryAfterFromHeaders(
        {
          'X-RateLimit-Reset-Requests': '1s',
          'x-ratelimit-remaining-requests': '5',
          'x-ratelimit-reset-tokens': '6m0s',
          'x-ratelimit-remaining-tokens': '0',
        },
        0,
      ),
    ).toBe(360_000);
    expect(retryAfterFromHeaders({ 'x-ratelimit-reset-requests': ['2s', '9s'] }, 0)).toBe(2_000);
    expect(retryAfterFromHeaders({ 'anthropic-ratelimit-requests-reset': '1970-01-01T00:00:05Z' }, 1_000)).toBe(4_000);
    expect(retryAfterFromHeaders({ 'content-type': 'application/json' }, 0)).toBeUndefined();
  });
});
