import { RelError, type RequestContext, type StreamChunk, abortReason, toRelError, zeroUsage } from '@rel/core';
import type { BodyReader } from './http-transport';
import { readAhead } from './read-ahead';
import { type SseEvent, type SseParserOptions, parseSse } from './sse-parser';

/** Turns parsed events into stream chunks (one per wire format). */
export type StreamDecoder = (events: AsyncIterable<SseEvent>) => AsyncIterable<StreamChunk>;

/**
 * Reads an SSE response body through `decode` and enforces the streaming contract shared by every
 * adapter:
 * - the context's signal cancels the body read, and the failure is the signal's reason (a
 *   timeout's `RelError`) or `cancelled`, never a truncated success;
 * - any other error while reading (socket reset, terminated body) is `stream_interrupted` with
 *   the count of chunks yielded;
 * - the `finish` chunk records its usage on the context, exactly once;
 * - stopping the iteration early (or finishing) releases the connection, then calls `release`;
 * - the body is read ahead of a slow consumer (up to 1 MiB), so every byte received before a
 *   connection breaks is decoded and yielded before the failure: `emittedChunks` counts exactly
 *   what the server sent before the cut.
 * @param options - `maxEventChars` bounds one server-sent event (see `SseParserOptions`).
 * @throws RelError only
 */
export function guardStream(
  body: ReadableStream<Uint8Array>,
  ctx: RequestContext,
  decode: StreamDecoder,
  release?: () => void,
  options: SseParserOptions = {},
): AsyncGenerator<StreamChunk, void, undefined> {
  return guardBody(() => body.getReader(), ctx, decode, release, options);
}

/**
 * `guardStream` over any body reader: `open` is called at the first `next()`, as `guardStream`
 * takes its body's reader then.
 */
export async function* guardBody(
  open: () => BodyReader,
  ctx: RequestContext,
  decode: StreamDecoder,
  release?: () => void,
  options: SseParserOptions = {},
): AsyncGenerator<StreamChunk, void, undefined> {
  const signal = ctx.signal;
  const reader = open();
  let ended = false;
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  const onEnd = () => {
    ended = true;
  };
  let emitted = 0;
  try {
    if (signal.aborted) throw signal.reason;
    for await (const chunk of decode(parseSse(readAhead(reader, onEnd), options))) {
      if (signal.aborted) throw signal.reason;
      if (chunk.type === 'finish') ctx.recordUsage(chunk.usage ?? zeroUsage);
      emitted++;
      yield chunk;
      if (chunk.type === 'finish') return;
    }
    if (signal.aborted) throw signal.reason;
  } catch (err) {
    if (signal.aborted) {
      const reason = abortReason(signal);
      throw RelError.is(reason) ? reason : toRelError(err, signal);
    }
    if (RelError.is(err)) throw err;
    // Whatever broke the read (socket reset, terminated body) cut the stream short.
    throw new RelError({ kind: 'stream_interrupted', emittedChunks: emitted }, { cause: err });
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
    release?.();
  }
}
