import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoizeHasher } from './hash-id';
import { requestJsonLine, requestLogFields, requestLogRecord } from './request-log';
import type { RequestSummary } from './request-summary';

const text = fc.string({ maxLength: 12 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const summary: fc.Arbitrary<RequestSummary> = fc.record({
  requestId: text,
  orgId: maybe(text),
  operation: text,
  requestModel: text,
  stream: fc.boolean(),
  answer: maybe(
    fc.record(
      { requestedModel: text, provider: text, model: text, id: text, finishReason: text },
      { requiredKeys: [] },
    ),
  ),
  latencyMs: fc.nat(),
  timeToFirstChunkMs: maybe(fc.nat()),
  usage: fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat() }),
  cost: fc.record({ inputUsd: fc.double(), outputUsd: fc.double(), totalUsd: fc.double() }),
  attempts: fc.nat(),
  fallback: maybe(
    fc.record({
      from: text,
      to: text,
      reason: fc.constantFrom('timeout' as const, 'rate_limited' as const, 'circuit_open' as const),
      at: fc.nat(),
    }),
  ),
  failure: maybe(
    fc.record({ errorType: text, errorClass: fc.constantFrom('unavailable' as const, 'rate_limited' as const) }),
  ),
  degraded: fc.boolean(),
  safeDefault: fc.boolean(),
  budgetRemaining: maybe(fc.double()),
});

describe('the request log record', () => {
  it('carries every non-null field of requestLogFields, in its order, and nothing else', () => {
    fc.assert(
      fc.property(summary, (s) => {
        const want = Object.entries(requestLogFields(s)).filter(([, v]) => v !== null);
        expect(Object.entries(requestLogRecord(s, 0, undefined).attributes ?? {})).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the request JSON line', () => {
  it('is the envelope then every field of requestLogFields, null included, as one JSON object on one line', () => {
    const extra = fc.record(
      { service: fc.oneof(text, fc.constant('rel "gw"\n\u2028')), traceId: fc.stringMatching(/^[0-9a-f]{0,32}$/) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(summary, fc.integer({ min: 0, max: 4_102_444_800_000 }), extra, (s, endMs, x) => {
        const line = requestJsonLine(s, endMs, x);
        expect(line.endsWith('\n')).toBe(true);
        expect(line.indexOf('\n')).toBe(line.length - 1);
        const level = s.failure ? 'error' : s.degraded || s.safeDefault ? 'warn' : 'info';
        expect(Object.entries(JSON.parse(line))).toEqual([
          ['ts', new Date(endMs).toISOString()],
          ['level', level],
          ['event', 'rel.request'],
          ...(x.service ? [['service', x.service]] : []),
          ...(x.traceId ? [['trace_id', x.traceId]] : []),
          // What JSON makes of the fields (a -0 or a non-finite cost reads back as 0 or null).
          ...Object.entries(JSON.parse(JSON.stringify(requestLogFields(s)))),
        ]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('memoizeHasher', () => {
  it('returns what the hasher returns, hashing each remembered id once, and forgets the oldest past its size', () => {
    const calls: string[] = [];
    const hash = memoizeHasher((id) => {
      calls.push(id);
      return `h(${id})`;
    }, 2);
    expect([hash('a'), hash('b'), hash('a'), hash('b')]).toEqual(['h(a)', 'h(b)', 'h(a)', 'h(b)']);
    expect(calls).toEqual(['a', 'b']);
    hash('c'); // forgets a
    expect(hash('b')).toBe('h(b)');
    expect(hash('a')).toBe('h(a)');
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });
});
