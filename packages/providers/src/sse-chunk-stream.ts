import { RelError, type RequestContext, type StreamChunk, abortReason, toRelError, zeroUsage } from '@rel/core';
import type { BodyReadResult, BodyReader } from './http-transport';
import { READ_AHEAD_BYTES } from './read-ahead';
import { SseDecoder, type SseEvent, type SseParserOptions } from './sse-parser';

/**
 * Turns server-sent events into stream chunks one event at a time, synchronously (one per wire
 * format): what `guardBody`'s async decoder does, without an async layer per event.
 * @internal
 */
export interface EventDecoder {
  /**
   * Decodes one event, appending its chunks to `out`.
   * @returns true when the answer is complete (the last chunk appended is `finish`)
   * @throws RelError when the event fails the stream
   */
  event(ev: SseEvent, out: StreamChunk[]): boolean;
  /**
   * The events ended before the answer was complete: appends the last chunks or throws.
   * @throws RelError `stream_interrupted`
   */
  end(out: StreamChunk[]): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
/** What `#step` returns when the stream ends: close it, then answer done. */
const CLOSE: unique symbol = Symbol('close');

/**
 * `guardBody(open, ctx, decode, release, options)` with a synchronous `EventDecoder`, as one
 * iterator instead of four async generators (read-ahead, SSE parser, decoder, guard): the same
 * chunks, failures and cleanup, for a fraction of the promise turns per chunk.
 *
 * - The body is read ahead of the consumer (up to `READ_AHEAD_BYTES` unread), from the first
 *   `next()`, so every byte received before a connection breaks is decoded before the failure.
 * - Bytes are parsed, and events decoded, only as the consumer asks for chunks: a failure (an
 *   oversized event, an error payload) surfaces in order, after the chunks before it.
 * - The context's abort cancels the body read; the failure is the abort reason (a timeout's
 *   `RelError`) or `cancelled`. Any other read error is `stream_interrupted` with the count of
 *   chunks returned. The `finish` chunk records its usage on the context, once.
 * - Stopping early (`return()`), failing or finishing cancels the body unless it ended, releases
 *   the reader, then calls `release`. A `return()` before the first `next()` does nothing, as an
 *   unstarted generator's.
 * @internal
 */
export class SseChunkStream implements AsyncIterableIterator<StreamChunk> {
  readonly #open: () => BodyReader;
  readonly #ctx: RequestContext;
  readonly #decoder: EventDecoder;
  readonly #release: (() => void) | undefined;
  readonly #sse: SseDecoder;
  #reader: BodyReader | undefined;
  #state: 'new' | 'open' | 'closed' = 'new';
  /** The abort listener's remover. */
  #unlisten: (() => void) | undefined;
  /** The body ended normally and the consumer reached its end: nothing to cancel. */
  #ended = false;
  /** A `next()` waiting on the body; `return()` runs after it, as an async generator's would. */
  #pending: Promise<unknown> | undefined;
  #emitted = 0;
  /** The last chunk returned was `finish`: the next call ends the stream. */
  #complete = false;

  // Read-ahead: bytes read and not parsed yet.
  readonly #bytes: Uint8Array[] = [];
  #queued = 0;
  #reading = false;
  #bodyDone = false;
  #failure: { readonly error: unknown } | undefined;
  /** Settles the `next()` waiting on the body. */
  #wake: ((result: IteratorResult<StreamChunk> | Promise<IteratorResult<StreamChunk>>) => void) | undefined;

  // Parsed and decoded, not returned yet.
  #events: SseEvent[] = [];
  #eventAt = 0;
  readonly #chunks: StreamChunk[] = [];
  #chunkAt = 0;
  /** The decoder said the answer is complete (or its end was decoded): no more events are read. */
  #decoded = false;

  constructor(
    open: () => BodyReader,
    ctx: RequestContext,
    decoder: EventDecoder,
    release?: () => void,
    options: SseParserOptions = {},
  ) {
    this.#open = open;
    this.#ctx = ctx;
    this.#decoder = decoder;
    this.#release = release;
    this.#sse = new SseDecoder(options);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamChunk>> {
    if (this.#state === 'closed') return Promise.resolve(DONE);
    let ready: IteratorResult<StreamChunk> | typeof CLOSE | undefined;
    try {
      if (this.#state === 'new') this.#start();
      ready = this.#step();
    } catch (error) {
      return this.#fail(error);
    }
    if (ready === CLOSE) return this.#close().then(() => DONE);
    if (ready !== undefined) return Promise.resolve(ready);
    // Nothing to return before more of the body arrives: the read that brings it settles this.
    const pending = new Promise<IteratorResult<StreamChunk>>((resolve) => {
      this.#wake = resolve;
    });
    this.#pending = pending;
    return pending;
  }

  return(): Promise<IteratorResult<StreamChunk>> {
    if (this.#pending) return this.#pending.then(this.#closeLater, this.#closeLater);
    if (this.#state === 'new') {
      this.#state = 'closed';
      return Promise.resolve(DONE);
    }
    return this.#close().then(() => DONE);
  }

  readonly #closeLater = (): Promise<IteratorResult<StreamChunk>> => {
    this.#pending = undefined;
    return this.return();
  };

  #start(): void {
    this.#state = 'open';
    this.#reader = this.#open();
    const ctx = this.#ctx;
    this.#unlisten = ctx.onAbort(this.#onAbort);
    if (ctx.aborted) throw abortReason(ctx.signal);
    this.#pull();
  }

  readonly #onAbort = (): void => {
    void this.#reader?.cancel(this.#ctx.signal.reason).catch(() => {});
  };

  /**
   * The next result when one is ready now: a chunk, `CLOSE` (the stream ends: close, then done),
   * or undefined when the body must be waited for.
   * @throws what fails the stream (mapped by `#fail`)
   */
  #step(): IteratorResult<StreamChunk> | typeof CLOSE | undefined {
    const ctx = this.#ctx;
    for (;;) {
      // The consumer came back after `finish`: the stream ends, as the guard returns there.
      if (this.#complete) return CLOSE;
      if (this.#chunkAt < this.#chunks.length) {
        const chunk = this.#chunks[this.#chunkAt++] as StreamChunk;
        if (this.#chunkAt === this.#chunks.length) {
          this.#chunks.length = 0;
          this.#chunkAt = 0;
        }
        if (ctx.aborted) throw abortReason(ctx.signal);
        if (chunk.type === 'finish') {
          ctx.recordUsage(chunk.usage ?? zeroUsage);
          this.#complete = true;
        }
        this.#emitted++;
        return { done: false, value: chunk };
      }
      if (this.#decoded) {
        if (ctx.aborted) throw abortReason(ctx.signal);
        return CLOSE;
      }
      if (this.#eventAt < this.#events.length) {
        const ev = this.#events[this.#eventAt++] as SseEvent;
        if (this.#decoder.event(ev, this.#chunks)) this.#decoded = true;
        continue;
      }
      const bytes = this.#bytes.shift();
      if (bytes !== undefined) {
        this.#queued -= bytes.byteLength;
        this.#pull();
        this.#setEvents(this.#sse.push(bytes));
        continue;
      }
      if (!this.#bodyDone) return undefined;
      if (this.#failure) throw this.#failure.error;
      this.#ended = true;
      this.#decoded = true;
      this.#setEvents(this.#sse.end());
      // Events completed by the end are decoded first; the decoder's end comes after them.
      let complete = false;
      while (!complete && this.#eventAt < this.#events.length) {
        complete = this.#decoder.event(this.#events[this.#eventAt++] as SseEvent, this.#chunks);
      }
      if (!complete) this.#decoder.end(this.#chunks);
    }
  }

  #setEvents(events: SseEvent[]): void {
    this.#events = events;
    this.#eventAt = 0;
  }

  /** The body moved on while a `next()` waits: settles it when a result is ready. */
  #resume(): void {
    const wake = this.#wake;
    if (wake === undefined) return;
    let ready: IteratorResult<StreamChunk> | typeof CLOSE | undefined;
    try {
      ready = this.#step();
    } catch (error) {
      this.#wake = undefined;
      this.#pending = undefined;
      wake(this.#fail(error));
      return;
    }
    if (ready === undefined) return;
    this.#wake = undefined;
    this.#pending = undefined;
    wake(ready === CLOSE ? this.#close().then(() => DONE) : ready);
  }

  /** Keeps one read pending while under the read-ahead limit. */
  #pull(): void {
    if (this.#reading || this.#bodyDone || this.#state !== 'open' || this.#queued >= READ_AHEAD_BYTES) return;
    this.#reading = true;
    (this.#reader as BodyReader).read().then(this.#onRead, this.#onReadError);
  }

  readonly #onRead = (next: BodyReadResult): void => {
    this.#reading = false;
    if (next.done) this.#bodyDone = true;
    else {
      this.#bytes.push(next.value);
      this.#queued += next.value.byteLength;
      this.#pull();
    }
    this.#resume();
  };

  readonly #onReadError = (error: unknown): void => {
    this.#reading = false;
    this.#failure = { error };
    this.#bodyDone = true;
    this.#resume();
  };

  /** Maps a failure as the guard does, closes, and rejects with it. */
  async #fail(err: unknown): Promise<never> {
    const ctx = this.#ctx;
    let error: unknown;
    if (ctx.aborted) {
      const reason = abortReason(ctx.signal);
      error = RelError.is(reason) ? reason : toRelError(err, ctx.signal);
    } else if (RelError.is(err)) error = err;
    // Whatever broke the read (socket reset, terminated body) cut the stream short.
    else error = new RelError({ kind: 'stream_interrupted', emittedChunks: this.#emitted }, { cause: err });
    await this.#close();
    throw error;
  }

  async #close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#unlisten?.();
    const reader = this.#reader as BodyReader;
    if (!this.#ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
    this.#release?.();
  }
}
