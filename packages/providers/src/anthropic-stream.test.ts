import { RelError } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture-server';
import { run, splitAt } from '../test/streams';
import { decodeAnthropicStream } from './anthropic-stream';
import type { SseEvent } from './sse-parser';

const enc = new TextEncoder();
const decode = (events: AsyncIterable<SseEvent>) => decodeAnthropicStream(events);
const recorded = ['text-stream.sse', 'tool-use-stream.sse', 'thinking-stream.sse'].map((f) =>
  fixture(`anthropic/${f}`),
);

describe('decodeAnthropicStream', () => {
  it('finishes at end of stream when message_delta arrived but message_stop did not', async () => {
    const text = recorded[0]!;
    const { chunks, error } = await run([enc.encode(text.slice(0, text.indexOf('event: message_stop')))], decode);
    expect(error).toBeUndefined();
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', usage: { outputTokens: 15 } });
  });

  it('maps a refusal stop reason to content_filter', async () => {
    const text = recorded[0]!.replace('"stop_reason":"end_turn"', '"stop_reason":"refusal"');
    const { chunks } = await run([enc.encode(text)], decode);
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'content_filter' });
  });

  it('maps a streamed rate_limit_error before any chunk to rate_limited', async () => {
    const body = 'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}\n\n';
    const { error } = await run([enc.encode(body)], decode);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'rate_limited', status: 429 });
  });
});

describe('decodeAnthropicStream properties', () => {
  it('yields the same chunks for any split of each recorded stream, LF or CRLF', async () => {
    const whole = await Promise.all(recorded.map((t) => run([enc.encode(t)], decode)));
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: recorded.length - 1 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (which, crlf, cuts) => {
          const text = recorded[which]!;
          const bytes = enc.encode(crlf ? text.replace(/\n/g, '\r\n') : text);
          const split = await run(splitAt(bytes, cuts), decode);
          expect(split.error).toBeUndefined();
          expect(split.chunks).toEqual(whole[which]!.chunks);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('turns arbitrary bytes into chunks then at most a RelError: no other exception, no crash, no hang', async () => {
    const pieces = recorded.join('').split(/(?<=\n)|(?=[{}":,])/);
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.array(fc.constantFrom(...pieces), { maxLength: 80 }).map((p) => enc.encode(p.join(''))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), async (b, cuts, strict) => {
        const { error } = await run(splitAt(b, cuts), (e) =>
          decodeAnthropicStream(e, { onMalformedEvent: strict ? 'fail' : 'skip' }),
        );
        if (error !== undefined) expect(RelError.is(error)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
