import { RelError, type StreamChunk, type StreamingCompletion } from '@rel/core';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const noop = () => {};

/**
 * Reads a stream's first chunk inside the attempt, so that a failure before anything reached the
 * caller is an attempt failure the retry loop may retry. A stream that fails or ends before its
 * first chunk is reported as `provider_unavailable` (nothing was emitted, so it is safe to retry).
 * @internal
 */
export async function peekStream(response: StreamingCompletion): Promise<StreamingCompletion> {
  const it = response.chunks[Symbol.asyncIterator]();
  let first: IteratorResult<StreamChunk>;
  try {
    first = await it.next();
  } catch (error) {
    it.return?.()?.catch(noop);
    if (RelError.is(error) && error.failure.kind === 'stream_interrupted') {
      throw new RelError(
        { kind: 'provider_unavailable', code: 'stream_interrupted_before_first_chunk' },
        { cause: error },
      );
    }
    throw error;
  }
  if (first.done) throw new RelError({ kind: 'provider_unavailable', code: 'empty_stream' });
  return { ...response, chunks: new PeekedStream(it, first.value) };
}

/**
 * Closes a response that will never reach the caller (a hedge's late success).
 * @internal
 */
export function discardResponse(response: { type: string; chunks?: unknown }): void {
  if (response.chunks instanceof PeekedStream) response.chunks.return().catch(noop);
}

/**
 * The chunks of a stream whose first chunk was already read. After that chunk reached the caller
 * no failure is retried: a failure surfaces as `stream_interrupted` carrying the chunks emitted
 * (a timeout or a cancel keeps its own kind), for the fallback layer to act on.
 */
class PeekedStream implements AsyncIterableIterator<StreamChunk> {
  readonly #it: AsyncIterator<StreamChunk>;
  #first: StreamChunk | undefined;
  #emitted = 0;
  #done = false;

  constructor(it: AsyncIterator<StreamChunk>, first: StreamChunk) {
    this.#it = it;
    this.#first = first;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The first chunk, then the source's own promise for each next one: no async frame per chunk.
   * Only a result or a failure needs a look (to count it, or to end the stream), through handlers
   * made once per stream.
   */
  next(): Promise<IteratorResult<StreamChunk>> {
    if (this.#done) return Promise.resolve(DONE);
    const first = this.#first;
    if (first !== undefined) {
      this.#first = undefined;
      this.#emitted++;
      return Promise.resolve({ done: false, value: first });
    }
    let pending: Promise<IteratorResult<StreamChunk>>;
    try {
      pending = this.#it.next();
    } catch (error) {
      return Promise.reject(this.#failed(error));
    }
    return pending.then(this.#onResult, this.#onError);
  }

  readonly #onResult = (result: IteratorResult<StreamChunk>): IteratorResult<StreamChunk> => {
    if (result.done) this.#done = true;
    else this.#emitted++;
    return result;
  };

  readonly #onError = (error: unknown): never => {
    throw this.#failed(error);
  };

  #failed(error: unknown): unknown {
    this.#done = true;
    return interrupted(error, this.#emitted);
  }

  async return(): Promise<IteratorResult<StreamChunk>> {
    if (this.#done) return DONE;
    this.#done = true;
    await this.#it.return?.();
    return DONE;
  }
}

function interrupted(error: unknown, emittedChunks: number): unknown {
  if (RelError.is(error)) {
    const kind = error.failure.kind;
    if (kind === 'timeout' || kind === 'cancelled' || kind === 'stream_interrupted') return error;
  }
  return new RelError({ kind: 'stream_interrupted', emittedChunks }, { cause: error });
}
