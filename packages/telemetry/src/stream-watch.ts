import type { Abortable, StreamChunk } from '@rel/core';

/** A stream whose abandonment is watched, and the function that stops watching. */
export interface WatchedStream {
  readonly chunks: AsyncIterable<StreamChunk>;
  /** Stops watching (removes the abort listener); called once the stream's telemetry has ended. */
  stop(): void;
}

/**
 * Watches a stream for abandonment: when `abort` fires while the consumer is not waiting on the
 * stream (it never started reading, or paused between chunks), `onAbandon` is called once, since
 * no read will come to end the stream's telemetry. A consumer waiting on a chunk when the signal
 * aborts gets the failure from the stream itself, so that case is left to the stream.
 *
 * The listener is removed when the stream ends, fails or is stopped, or when `stop` is called. It
 * listens through `onAbort` (a request context is an `Abortable`), so no `AbortSignal` is made.
 * @example const watched = watchAbandon(chunks, ctx, () => span.end());
 */
export function watchAbandon(
  source: AsyncIterable<StreamChunk>,
  abort: Abortable,
  onAbandon: () => void,
): WatchedStream {
  let pulling = false;
  let settled = false;
  const onAbort = () => {
    if (pulling || settled) return;
    settled = true;
    onAbandon();
  };
  const unlisten = abort.aborted ? undefined : abort.onAbort(onAbort);
  const stop = () => {
    settled = true;
    unlisten?.();
  };
  const chunks: AsyncIterable<StreamChunk> = {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      return {
        async next() {
          pulling = true;
          try {
            const result = await it.next();
            if (result.done) stop();
            return result;
          } catch (error) {
            stop();
            throw error;
          } finally {
            pulling = false;
          }
        },
        async return(value?: unknown) {
          stop();
          return it.return ? it.return(value) : { done: true as const, value: undefined };
        },
        async throw(error?: unknown) {
          stop();
          if (it.throw) return it.throw(error);
          throw error;
        },
      };
    },
  };
  return { chunks, stop };
}
