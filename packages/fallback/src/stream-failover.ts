import {
  CallGate,
  RelError,
  type RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  type Usage,
  addUsage,
  completionChunks,
  toRelError,
} from '@rel/core';
import type { Dispatch, Opened } from './dispatch';
import { closeChunks } from './guarded-stream';

/** Mid-stream failover switches. */
export interface StreamFailoverOptions {
  /** After chunks reached the caller, continue on a prefill-capable target. Default true. */
  continueWithPrefill: boolean;
}

/**
 * Wraps a routed stream so that a failure before its end never passes for a success:
 * - nothing reached the caller yet: the request restarts on the next target, transparently;
 * - chunks were emitted: the answer continues on the next target that supports assistant prefill
 *   (the partial text sent as the start of the answer), its text appended and usage summed;
 * - otherwise the iterator throws `stream_interrupted`; when a continuation was tried and failed
 *   (a rejected prefill), the original interruption is thrown with that failure as `cause`.
 * Each target's breaker counts the stream when it ends.
 */
export function failoverStream(
  first: Opened & { readonly response: StreamingCompletion },
  dispatch: Dispatch,
  ctx: RequestContext,
  options: StreamFailoverOptions,
): StreamingCompletion {
  // `chunks` before the optional field: a field after a spread is V8's slow path (Node 20).
  return {
    type: 'stream',
    requestedModel: first.response.requestedModel,
    chunks: new FailoverStream(first, dispatch, ctx, options),
    ...(first.response.provider ? { provider: first.response.provider } : {}),
  };
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Where a `FailoverStream` stands. */
enum Phase {
  /** Neither `next` nor `return` was called. */
  Unstarted,
  /** `return` was called first and failed: a `next` reads, a `return` only ends. */
  ClosedUnstarted,
  /** Reading the current target's stream (or the chunks of its completion). */
  Reading,
  /** The `finish` chunk went out: the next call closes the target's stream and ends. */
  Finished,
  /** Nothing more comes. */
  Done,
}

/**
 * The chunks of `failoverStream`: one iterator instead of an async generator in a wrapper. A chunk
 * costs one `then` on the current target's promise, with handlers made once per stream; a failure
 * goes through `#recover` (the failover), a close through `#close`. The outcomes and their order are
 * a generator's: a target's stream is closed when the consumer stops early or after its `finish`
 * (not after it failed), its breaker counts the stream once (`success` at the finish, the failure's
 * class, or `ignored` when closed early), and a call made while another is in progress waits for it.
 */
class FailoverStream implements AsyncIterableIterator<StreamChunk> {
  readonly #first: Opened & { readonly response: StreamingCompletion };
  readonly #dispatch: Dispatch;
  readonly #ctx: RequestContext;
  readonly #options: StreamFailoverOptions;
  #phase = Phase.Unstarted;
  /** The target being read, its stream's iterator (made at the first read), or its completion's chunks. */
  #current: Opened;
  #it: AsyncIterator<StreamChunk> | undefined;
  #completion: Iterator<StreamChunk> | undefined;
  /** The current target's breaker counted (or will not count) this stream. */
  #settled = false;
  #emitted = 0;
  #text = '';
  #toolCalls = false;
  #usage: Usage | undefined;
  #original: RelError | undefined;
  /** The call in progress, which the next call waits for. */
  readonly #gate = new CallGate();

  constructor(
    first: Opened & { readonly response: StreamingCompletion },
    dispatch: Dispatch,
    ctx: RequestContext,
    options: StreamFailoverOptions,
  ) {
    this.#first = first;
    this.#current = first;
    this.#dispatch = dispatch;
    this.#ctx = ctx;
    this.#options = options;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamChunk>> {
    if (this.#gate.busy !== undefined) return this.#gate.after(() => this.next());
    switch (this.#phase) {
      case Phase.Done:
        return Promise.resolve(DONE);
      case Phase.Finished:
        return this.#gate.track(this.#close());
      case Phase.Unstarted:
      case Phase.ClosedUnstarted:
        this.#phase = Phase.Reading;
    }
    return this.#read();
  }

  return(): Promise<IteratorResult<StreamChunk>> {
    if (this.#gate.busy !== undefined) return this.#gate.after(() => this.return());
    switch (this.#phase) {
      case Phase.Done:
        return Promise.resolve(DONE);
      case Phase.Unstarted:
        return this.#gate.track(this.#closeUnstarted());
      case Phase.ClosedUnstarted:
        this.#phase = Phase.Done;
        return Promise.resolve(DONE);
    }
    return this.#gate.track(this.#close());
  }

  /** The current target's next chunk. */
  #read(): Promise<IteratorResult<StreamChunk>> {
    const completion = this.#completion;
    if (completion !== undefined) {
      const result = completion.next();
      if (result.done) this.#phase = Phase.Done;
      return Promise.resolve(result.done ? DONE : result);
    }
    let pending: Promise<IteratorResult<StreamChunk>>;
    try {
      const response = this.#current.response as StreamingCompletion;
      pending = (this.#it ??= response.chunks[Symbol.asyncIterator]()).next();
    } catch (error) {
      return this.#gate.track(this.#recover(error));
    }
    // `#onResult` clears the gate for a chunk; a finish or a failure clears it when its work is done.
    const read = pending.then(this.#onResult, this.#onError);
    this.#gate.busy = read;
    return read;
  }

  readonly #onResult = (
    result: IteratorResult<StreamChunk>,
  ): IteratorResult<StreamChunk> | Promise<IteratorResult<StreamChunk>> => {
    if (result.done) return this.#gate.track(this.#recover(this.#endedEarly()));
    const chunk = result.value;
    if (chunk.type === 'finish') return this.#gate.track(this.#finish(chunk));
    this.#count(chunk);
    this.#gate.busy = undefined;
    return result;
  };

  /** A chunk before the finish reached the caller. */
  #count(chunk: StreamChunk): void {
    if (chunk.type === 'text-delta') this.#text += chunk.text;
    else this.#toolCalls = true;
    this.#emitted++;
  }

  /** The failure of a stream that ended without its finish. */
  #endedEarly(): RelError {
    return new RelError({ kind: 'stream_interrupted', emittedChunks: this.#emitted });
  }

  readonly #onError = (error: unknown): Promise<IteratorResult<StreamChunk>> => this.#gate.track(this.#recover(error));

  /** The finish: the target's breaker counts a success, and the usage of every target is summed. */
  async #finish(chunk: Extract<StreamChunk, { type: 'finish' }>): Promise<IteratorResult<StreamChunk>> {
    this.#settled = true;
    const current = this.#current;
    try {
      await current.target.breaker?.record(current.admission, 'success', current.openMs);
    } catch (error) {
      // A failure while reading the stream closes it (a failure to close is not the news).
      this.#phase = Phase.Done;
      await Promise.resolve(this.#it?.return?.()).catch(() => {});
      throw error;
    }
    const usage = chunk.usage ? (this.#usage ? addUsage(this.#usage, chunk.usage) : chunk.usage) : this.#usage;
    this.#usage = usage;
    this.#phase = Phase.Finished;
    return { done: false, value: usage ? { ...chunk, usage } : chunk };
  }

  /**
   * The consumer stopped reading (or read past the finish): closes the target's stream (its
   * failure to close surfaces), then, unless the breaker counted the stream, counts it `ignored`.
   */
  async #close(): Promise<IteratorResult<StreamChunk>> {
    this.#phase = Phase.Done;
    const completion = this.#completion;
    if (completion !== undefined) {
      completion.return?.();
      return DONE;
    }
    try {
      await this.#it?.return?.();
    } finally {
      const current = this.#current;
      if (!this.#settled) await current.target.breaker?.record(current.admission, 'ignored', current.openMs);
    }
    return DONE;
  }

  /** Closed before it was read: closes the target's stream and frees its breaker admission. */
  async #closeUnstarted(): Promise<IteratorResult<StreamChunk>> {
    const first = this.#first;
    // Should closing fail, a `next` still reads (as the generator this replaced did).
    this.#phase = Phase.ClosedUnstarted;
    await closeChunks(first.response.chunks);
    await first.target.breaker?.record(first.admission, 'ignored', first.openMs);
    this.#phase = Phase.Done;
    return DONE;
  }

  /**
   * The current target failed before its finish: restarts on the next target when nothing reached
   * the caller, continues on a prefill-capable one when chunks did, or throws; then reads on, in
   * this frame (a failure of the next target goes round again), as the replaced generator's loop did.
   */
  async #recover(error: unknown): Promise<IteratorResult<StreamChunk>> {
    for (;;) {
      this.#settled = true;
      try {
        this.#current = await this.#failover(error);
      } catch (failure) {
        this.#phase = Phase.Done;
        throw failure;
      }
      this.#settled = false;
      this.#it = undefined;
      const response = this.#current.response;
      if (response.type === 'completion') {
        this.#settled = true;
        const usage = this.#usage ? addUsage(this.#usage, response.usage) : response.usage;
        this.#completion = completionChunks(response, usage);
        return this.#read();
      }
      let result: IteratorResult<StreamChunk>;
      try {
        this.#it = response.chunks[Symbol.asyncIterator]();
        result = await this.#it.next();
      } catch (failure) {
        error = failure;
        continue;
      }
      if (result.done) {
        error = this.#endedEarly();
        continue;
      }
      if (result.value.type === 'finish') return this.#finish(result.value);
      this.#count(result.value);
      return result;
    }
  }

  /** The target to read on after the current one failed with `error`, or throws the failure to surface. */
  async #failover(error: unknown): Promise<Opened> {
    const current = this.#current;
    const dispatch = this.#dispatch;
    const ctx = this.#ctx;
    const emitted = this.#emitted;
    if (emitted === 0) {
      // Nothing reached the caller: fall back as if the stream had never opened.
      await dispatch.fail(current.target, current.admission, error, current.calls, current.openMs);
      return dispatch.open();
    }
    const err = toRelError(error, ctx.signal);
    const breaker = current.target.breaker;
    if (breaker) await breaker.record(current.admission, breaker.classify(err, ctx.signal), current.openMs);
    if (ctx.aborted || err.failure.kind === 'cancelled') throw err;
    this.#original ??= err;
    const original = this.#original;
    const interruption = new RelError(
      { kind: 'stream_interrupted', emittedChunks: emitted },
      {
        message:
          original.failure.kind === 'stream_interrupted'
            ? `stream interrupted after ${emitted} chunks`
            : `stream interrupted after ${emitted} chunks: ${original.message}`,
        cause: original,
      },
    );
    if (!this.#options.continueWithPrefill || this.#toolCalls) throw interruption;
    const next = await dispatch.continueFrom(current.target, this.#text);
    if (!('response' in next)) {
      if (next.error === undefined) throw interruption;
      throw new RelError(interruption.failure, {
        message: `${interruption.message}; the continuation failed: ${describe(next.error)}`,
        cause: next.error,
      });
    }
    return next;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
