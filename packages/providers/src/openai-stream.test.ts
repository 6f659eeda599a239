import { RelError, UsageSchema } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture-server';
import { run, splitAt } from '../test/streams';
import { decodeOpenAiStream } from './openai-stream';
import type { SseEvent } from './sse-parser';

const enc = new TextEncoder();
const decode = (events: AsyncIterable<SseEvent>) => decodeOpenAiStream(events);
const text = fixture('openai/text-stream.sse');

describe('decodeOpenAiStream', () => {
  it('yields text deltas and one finish with usage (cached and reasoning tokens), version and id', async () => {
    const { chunks, error, ctx } = await run([enc.encode(text)], decode);
    expect(error).toBeUndefined();
    expect(chunks).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'text-delta', text: '! How can I assist you — today? ☕' },
      {
        type: 'finish',
        finishReason: 'stop',
        id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
        model: 'gpt-4o-2024-08-06',
        usage: { inputTokens: 1117, outputTokens: 12, cachedInputTokens: 1024, reasoningTokens: 0 },
      },
    ]);
    expect(ctx.usage).toEqual({ inputTokens: 1117, outputTokens: 12, cachedInputTokens: 1024, reasoningTokens: 0 });
  });

  it("assembles Azure's tool-call deltas, skipping its prompt-filter chunk with an empty model", async () => {
    const { chunks, error } = await run([enc.encode(fixture('openai/azure-tool-stream.sse'))], decode);
    expect(error).toBeUndefined();
    expect(chunks.filter((c) => c.type === 'tool-call-delta')).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"lo' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: 'cation": "Paris"}' },
      { type: 'tool-call-delta', index: 1, id: 'call_2', name: 'get_time' },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{}' },
    ]);
    expect(chunks.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'tool_calls',
      id: 'chatcmpl-B9MCfakeAzure0001',
      model: 'o3-mini-2025-01-31',
      usage: { inputTokens: 64, outputTokens: 150, cachedInputTokens: 0, reasoningTokens: 128 },
    });
  });

  it('waits for the usage chunk after the finish reason; without it and without [DONE] the stream was interrupted', async () => {
    const cut = text.slice(0, text.indexOf('data: {', text.indexOf('"finish_reason":"stop"')));
    const { chunks, error, ctx } = await run([enc.encode(cut)], decode);
    expect(chunks.map((c) => c.type)).toEqual(['text-delta', 'text-delta']);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 2 });
    expect(ctx.usage.inputTokens).toBe(0);
  });

  it('finishes at [DONE] without usage for a server that ignores include_usage', async () => {
    const noUsage =
      'data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"length"}]}\n\ndata: [DONE]\n\n';
    const { chunks, error } = await run([enc.encode(noUsage)], decode);
    expect(error).toBeUndefined();
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'length' });
  });

  it('finishes right at the finish reason when usage was not requested', async () => {
    const body = 'data: {"model":"m-1","choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}\n\n';
    const { chunks, error } = await run([enc.encode(body)], (e) => decodeOpenAiStream(e, { includeUsage: false }));
    expect(error).toBeUndefined();
    expect(chunks).toEqual([
      { type: 'text-delta', text: 'a' },
      { type: 'finish', finishReason: 'stop', model: 'm-1' },
    ]);
  });

  it('turns an error payload after chunks into stream_interrupted carrying the mapped failure', async () => {
    const { chunks, error } = await run([enc.encode(fixture('openai/error-in-stream.sse'))], decode);
    expect(chunks).toEqual([{ type: 'text-delta', text: 'Part' }]);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 1 });
    expect(RelError.is(error) && RelError.is(error.cause) && error.cause.failure.kind).toBe('provider_unavailable');
  });

  it('treats [DONE] without any finish reason as an interruption', async () => {
    const { error } = await run(
      [enc.encode('data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\n')],
      decode,
    );
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 1 });
  });
});

describe('decodeOpenAiStream properties', () => {
  it('yields the same chunks for any split of a recorded stream, LF or CRLF', async () => {
    const lf = await run([enc.encode(text)], decode);
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(fc.nat(), { maxLength: 30 }), async (crlf, cuts) => {
        const bytes = enc.encode(crlf ? text.replace(/\n/g, '\r\n') : text);
        const split = await run(splitAt(bytes, cuts), decode);
        expect(split.error).toBeUndefined();
        expect(split.chunks).toEqual(lf.chunks);
      }),
      { numRuns: 200 },
    );
  });

  it('turns arbitrary bytes into chunks then at most a RelError: no other exception, no crash, no hang', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc
        .array(fc.constantFrom(...text.split(/(?<=\n)|(?=[{}":,])/)), { maxLength: 60 })
        .map((parts) => enc.encode(parts.join(''))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), async (b, cuts, strict) => {
        const { error } = await run(splitAt(b, cuts), (e) =>
          decodeOpenAiStream(e, { onMalformedEvent: strict ? 'fail' : 'skip' }),
        );
        if (error !== undefined) expect(RelError.is(error)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeOpenAiStream usage', () => {
  it('keeps token counts valid when a server reports negative, fractional or non-finite ones', async () => {
    const body =
      'data: {"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":-3,"completion_tokens":2.6,"prompt_tokens_details":{"cached_tokens":-1},"completion_tokens_details":{"reasoning_tokens":1e400}}}\n\n';
    const { chunks, error, ctx } = await run([enc.encode(body)], decode);
    expect(error).toBeUndefined();
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 3 } });
    expect(UsageSchema.safeParse(ctx.usage).success).toBe(true);
  });
});
