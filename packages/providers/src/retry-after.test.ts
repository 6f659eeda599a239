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
