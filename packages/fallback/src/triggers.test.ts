import { describe, expect, it } from 'vitest';
import { TriggersSchema, fallbackReason } from './triggers';

const defaults = TriggersSchema.parse({});

describe('fallbackReason', () => {
  it('falls back on unavailability, timeouts, rate limits, overflows and interruptions by default', () => {
    expect(fallbackReason({ kind: 'provider_unavailable', status: 503 }, defaults, false)).toBe('provider_unavailable');
    expect(fallbackReason({ kind: 'timeout', phase: 'total' }, defaults, false)).toBe('timeout');
    expect(fallbackReason({ kind: 'rate_limited', retryAfterMs: 60_000 }, defaults, false)).toBe('rate_limited');
    expect(fallbackReason({ kind: 'context_length_exceeded' }, defaults, false)).toBe('context_length_exceeded');
    expect(fallbackReason({ kind: 'stream_interrupted', emittedChunks: 0 }, defaults, false)).toBe(
      'stream_interrupted',
    );
    expect(fallbackReason({ kind: 'circuit_open', target: 'x' }, defaults, false)).toBe('circuit_open');
    expect(fallbackReason({ kind: 'unauthorized', origin: 'provider', status: 401 }, defaults, false)).toBe(
      'provider_error',
    );
  });

  it('propagates a content filter by default and falls back when configured to', () => {
    expect(fallbackReason({ kind: 'content_filtered', reason: 'violence' }, defaults, false)).toBeUndefined();
    const on = TriggersSchema.parse({ contentFiltered: true });
    expect(fallbackReason({ kind: 'content_filtered' }, on, false)).toBe('content_filtered');
  });

  it('names retries_exhausted when the target retried, and honours it being switched off', () => {
    expect(fallbackReason({ kind: 'provider_unavailable' }, defaults, true)).toBe('retries_exhausted');
    const off = TriggersSchema.parse({ retriesExhausted: false });
    expect(fallbackReason({ kind: 'provider_unavailable' }, off, true)).toBeUndefined();
    expect(fallbackReason({ kind: 'context_length_exceeded' }, off, true)).toBe('context_length_exceeded');
  });

  it('never falls back on cancellations or the caller’s own errors', () => {
    for (const failure of [
      { kind: 'cancelled' },
      { kind: 'invalid_request' },
      { kind: 'unauthorized', origin: 'client', status: 401 },
      { kind: 'budget_exceeded', scope: 'org', limitUsd: 1, spentUsd: 1 },
      { kind: 'guardrail_blocked', stage: 'input', guardrail: 'pii', categories: [] },
    ] as const)
      expect(fallbackReason(failure, defaults, false)).toBeUndefined();
  });

  it('switches each trigger off on its own', () => {
    const t = TriggersSchema.parse({ timeout: false, rateLimited: false, providerUnavailable: false });
    expect(fallbackReason({ kind: 'timeout', phase: 'idle' }, t, false)).toBeUndefined();
    expect(fallbackReason({ kind: 'rate_limited' }, t, false)).toBeUndefined();
    expect(fallbackReason({ kind: 'provider_unavailable' }, t, false)).toBeUndefined();
  });
});
