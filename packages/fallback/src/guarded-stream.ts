import type { StreamChunk } from '@rel/core';

/**
 * A generator of chunks that cleans up even when it is closed before its first `next()`. A
 * generator closed unstarted runs none of its body, so its `finally` would never close the stream
 * it reads nor release what it holds; `onClosedUnstarted` does that instead.
 * @internal
 */
export class GuardedStream implements AsyncIterableIterator<StreamChunk> {
  readonly #gen: AsyncGenerator<StreamChunk>;
  readonly #onClosedUnstarted: () => Promise<void>;
  #started = false;

  constructor(gen: AsyncGenerator<StreamChunk>, onClosedUnstarted: () => Promise<void>) {
    this.#gen = gen;
    this.#onClosedUnstarted = onClosedUnstarted;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamChunk>> {
    this.#started = true;
    return this.#gen.next();
  }

  async return(): Promise<IteratorResult<StreamChunk>> {
    if (!this.#started) {
      this.#started = true;
      await this.#onClosedUnstarted();
    }
    return this.#gen.return(undefined);
  }
}

/** Closes a stream nobody will read; a failure to close is of no interest to anyone. @internal */
export async function closeChunks(chunks: AsyncIterable<StreamChunk>): Promise<void> {
  await Promise.resolve(chunks[Symbol.asyncIterator]().return?.()).catch(() => {});
}
