import { RelError, RequestContext, type StreamChunk } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture-server';
import { splitAt } from '../test/streams';
import { guardBody } from './guard-stream';
import type { BodyReadResult, BodyReader } from './http-transport';
import { OpenAiEventDecoder, decodeOpenAiStream } from './openai-stream';
import { SseChunkStream } from './sse-chunk-stream';

const enc = new TextEncoder();
const DONE: BodyReadResult = { done: true, value: undefined };

/** A body reader over `parts` (then a reset when `failAtEnd`), recording what was done to it. */
class PartsReader implements BodyReader {
  readonly log: string[] = [];
  #i = 0;
  #cancelled = false;
  #waiting: ((r: BodyReadResult) => void) | undefined;
  constructor(
    private readonly parts: readonly Uint8Array[],
    private readonly failAtEnd: boolean,
    /** Reads from this index on wait until cancelled (a stalled server)... */
    private readonly stallAt: number,
    /** ...and this is called on the next turn (the timer that fires meanwhile). */
    private readonly onStall: () => void,
  ) {}
  read(): Promise<BodyReadResult> {
    if (this.#cancelled) return Promise.resolve(DONE);
    if (this.#i >= this.stallAt) {
      setImmediate(this.onStall);
      return new Promise((resolve) => (this.#waiting = resolve));
    }
    const part = this.parts[this.#i++];
    if (part !== undefined) return Promise.resolve({ done: false, value: part });
    if (this.failAtEnd) return Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    return Promise.resolve(DONE);
  }
  cancel(reason?: unknown): Promise<void> {
    this.log.push(`cancel:${reason === undefined ? '' : RelError.is(reason) ? reason.failure.kind : 'other'}`);
    this.#cancelled = true;
    this.#waiting?.(DONE);
    this.#waiting = undefined;
    return Promise.resolve();
  }
  releaseLock(): void {
    this.log.push('releaseLock');
  }
}

interface Scenario {
  readonly text: string;
  readonly cuts: number[];
  readonly failAtEnd: boolean;
  readonly stallAt: number;
  readonly abortAt: number;
  readonly abortWhileWaiting: boolean;
  readonly stopAt: number;
  readonly strict: boolean;
  readonly includeUsage: boolean;
}

interface Outcome {
  chunks: StreamChunk[];
  error: unknown;
  usage: unknown;
  log: string[];
}

async function play(s: Scenario, fast: boolean): Promise<Outcome> {
  const controller = new AbortController();
  const ctx = new RequestContext({ signal: controller.signal });
  // An abort comes from a timer or a socket event: between two reads, or while one waits.
  const abort = () => controller.abort(new RelError({ kind: 'timeout', phase: 'idle', limitMs: 5 }));
  const reader = new PartsReader(splitAt(enc.encode(s.text), s.cuts), s.failAtEnd, s.stallAt, abort);
  const options = { includeUsage: s.includeUsage, onMalformedEvent: s.strict ? ('fail' as const) : ('skip' as const) };
  const release = () => reader.log.push('release');
  const stream: AsyncIterable<StreamChunk> = fast
    ? new SseChunkStream(() => reader, ctx, new OpenAiEventDecoder(options), release, { maxEventChars: 400 })
    : guardBody(
        () => reader,
        ctx,
        (events) => decodeOpenAiStream(events, options),
        release,
        { maxEventChars: 400 },
      );
  const chunks: StreamChunk[] = [];
  let error: unknown;
  const it = stream[Symbol.asyncIterator]();
  try {
    for (let i = 0; ; i++) {
      if (i === s.stopAt) {
        await it.return?.();
        break;
      }
      if (i === s.abortAt && !s.abortWhileWaiting) abort();
      const next = it.next();
      if (i === s.abortAt && s.abortWhileWaiting) setImmediate(abort);
      const r = await next;
      if (r.done) break;
      chunks.push(r.value);
    }
  } catch (e) {
    error = e;
  }
  // After the end, an abort reaches nothing: the listener is gone.
  controller.abort(new Error('late'));
  const failure = RelError.is(error) ? { ...error.failure, message: error.message } : error;
  // A reader is cancelled once: a second cancel of a cancelled body does nothing, and whether one
  // comes depends on how far the read-ahead got when the abort's cancel ended the body.
  const log = reader.log.filter(
    (entry, i) => !entry.startsWith('cancel') || reader.log.findIndex((e) => e.startsWith('cancel')) === i,
  );
  return { chunks, error: failure, usage: ctx.usage, log };
}

const streams = [
  fixture('openai/text-stream.sse'),
  fixture('openai/azure-tool-stream.sse'),
  fixture('openai/error-in-stream.sse'),
  'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: not json\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n',
  `data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(500)}"}}]}\n\n`,
  'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\n',
];

describe('SseChunkStream', () => {
  it('yields, fails, records usage and cleans up exactly as guardBody over decodeOpenAiStream (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          text: fc.constantFrom(...streams).chain((t) => fc.constantFrom(t, t.slice(0, t.length >> 1))),
          cuts: fc.array(fc.nat(4000), { maxLength: 12 }),
          failAtEnd: fc.boolean(),
          stallAt: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.nat(6)),
          abortAt: fc.oneof(fc.constant(-1), fc.nat(6)),
          abortWhileWaiting: fc.boolean(),
          stopAt: fc.oneof(fc.constant(-1), fc.nat(6)),
          strict: fc.boolean(),
          includeUsage: fc.boolean(),
        }),
        async (s) => {
          const expected = await play(s, false);
          const actual = await play(s, true);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('does nothing when closed before its first read, as an unstarted generator', async () => {
    const reader = new PartsReader([enc.encode('data: {}\n\n')], false, Number.POSITIVE_INFINITY, () => {});
    const stream = new SseChunkStream(
      () => reader,
      new RequestContext(),
      new OpenAiEventDecoder(),
      () => reader.log.push('release'),
    );
    expect(await stream.return()).toEqual({ done: true, value: undefined });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(reader.log).toEqual([]);
  });
});
