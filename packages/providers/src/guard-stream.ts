import { RelError, type RequestContext, type StreamChunk, abortReason, toRelError, zeroUsage } from '@rel/core';
import { type SseEvent, parseSse } from './sse-parser';

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
 * - stopping the iteration early (or finishing) releases the connection, then calls `release`.
 * @throws RelError only
 */
export async function* guardStream(
  body: ReadableStream<Uint8Array>,
  ctx: RequestContext,
  decode: StreamDecoder,
  release?: () => void,
): AsyncGenerator<StreamChunk, void, undefined> {
  const signal = ctx.signal;
  const reader = body.getReader();
  let ended = false;
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        ended = true;
        return;
      }
      yield next.value;
    }
  }
  let emitted = 0;
  try {
    if (signal.aborted) throw signal.reason;
    for await (const chunk of decode(parseSse(bytes()))) {
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
