import type { StreamChunk } from '@rel/core';
import type { RequestTimer } from './request-timer';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const noop = () => {};

/**
 * A stream's chunks under a `RequestTimer`: every wait for a chunk races the timer, so a stalled
 * provider fails with the timeout even if it ignores its signal. The source is closed (its
 * iterator's `return()`) on every exit: end, error, timeout, cancel, or the consumer stopping early.
 * @internal
 */
export class TimedStream implements AsyncIterableIterator<StreamChunk> {
  readonly #source: AsyncIterable<StreamChunk>;
  readonly #timer: RequestTimer;
  #it: AsyncIterator<StreamChunk> | undefined;
  #done = false;
  /** The `finish` chunk went by: the answer is complete, whatever the consumer does next. */
  #complete = false;

  constructor(source: AsyncIterable<StreamChunk>, timer: RequestTimer) {
    this.#source = source;
    this.#timer = timer;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<StreamChunk>> {
    if (this.#done) return DONE;
    this.#it ??= this.#source[Symbol.asyncIterator]();
    this.#timer.beginWait();
    let result: IteratorResult<StreamChunk>;
    try {
      result = await this.#timer.race(this.#it.next());
    } catch (error) {
      this.#done = true;
      this.#timer.finish();
      this.#it.return?.()?.catch(noop);
      throw this.#timer.failure(error);
    }
    if (result.done) {
      this.#done = true;
      this.#timer.finish();
      return result;
    }
    if (result.value.type === 'finish') this.#complete = true;
    this.#timer.endWait();
    return result;
  }

  async return(): Promise<IteratorResult<StreamChunk>> {
    if (this.#done) return DONE;
    this.#done = true;
    // The consumer stopped early: abort the request too, so the socket closes even when the
    // source never started (an unstarted generator's `return()` runs none of its cleanup). A
    // consumer that stops once the answer is complete (after `finish`, before the source's end)
    // cancels nothing: the timers stop and the source is closed as after its end.
    if (this.#complete) this.#timer.finish();
    else this.#timer.release();
    const it = this.#it ?? this.#source[Symbol.asyncIterator]();
    await it.return?.();
    return DONE;
  }
}
