import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SSE_DONE, sseData, sseEvent } from './sse';

describe('sse', () => {
  it('formats JSON as one data line and [DONE] as the terminator', () => {
    expect(sseEvent({ a: 1 })).toBe('data: {"a":1}\n\n');
    expect(sseData(sseEvent({ a: 1 }) + SSE_DONE)).toEqual(['{"a":1}', '[DONE]']);
  });

  it('reads back what it wrote, multi-line data included (property)', () => {
    const payload = fc.string().filter((s) => !s.includes('\r') && !s.includes('\n\n') && !s.endsWith('\n'));
    fc.assert(
      fc.property(fc.array(payload, { maxLength: 5 }), (payloads) => {
        expect(sseData(payloads.map(sseEvent).join(''))).toEqual(payloads);
      }),
    );
  });

  it('skips comments and other fields, and keeps an unterminated last event', () => {
    expect(sseData(': ping\n\nevent: x\ndata: 1\n\ndata: 2')).toEqual(['1', '2']);
  });
});
