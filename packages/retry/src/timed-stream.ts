import { type StreamChunk, abortReason } from '@rel/core';
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
  /** The wait of the `next()` in progress. */
  #resolve: ((result: IteratorResult<StreamChunk>) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  /** The `finish` chunk went by: the answer is complete, whatever the consumer does next. */
  #complete = false;

  constructor(source: AsyncIterable<StreamChunk>, timer: RequestTimer) {
    this.#source = source;
    this.#timer = timer;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The source's next chunk raced against the timer, as `timer.race` would, with one promise per
   * chunk instead of an async frame plus a race promise: the timer calls `#onAbort` if it fires
   * first; otherwise `#onResult` or `#onError` settles the wait.
   */
  next(): Promise<IteratorResult<StreamChunk>> {
    if (this.#done) return Promise.resolve(DONE);
    const it = (this.#it ??= this.#source[Symbol.asyncIterator]());
    const timer = this.#timer;
    timer.beginWait();
    let source: Promise<IteratorResult<StreamChunk>>;
    try {
      source = it.next();
    } catch (error) {
      return this.#failNow(error);
    }
    if (timer.aborted) return this.#failNow(abortReason(timer.signal));
    return new Promise<IteratorResult<StreamChunk>>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      timer.addRacer(this.#onAbort);
      source.then(this.#onResult, this.#onError);
    });
  }

  readonly #onResult = (result: IteratorResult<StreamChunk>): void => {
    this.#timer.endRace(this.#onAbort);
    const resolve = this.#resolve;
    // The timer fired first: the wait already failed.
    if (resolve === undefined) return;
    this.#resolve = undefined;
    this.#reject = undefined;
    if (result.done) {
      this.#done = true;
      this.#timer.finish();
    } else {
      if (result.value.type === 'finish') this.#complete = true;
      this.#timer.endWait();
    }
    resolve(result);
  };

  readonly #onError = (error: unknown): void => {
    this.#timer.endRace(this.#onAbort);
    this.#fail(error);
  };

  readonly #onAbort = (reason: unknown): void => {
    this.#fail(reason);
  };

  /** Ends the stream on a failure seen while waiting: the timeout or cancel wins over it. */
  #fail(error: unknown): void {
    const reject = this.#reject;
    if (reject === undefined) return;
    this.#resolve = undefined;
    this.#reject = undefined;
    reject(this.#close(error));
  }

  #failNow(error: unknown): Promise<never> {
    return Promise.reject(this.#close(error));
  }

  /** Stops the timers, closes the source, and returns the error to surface. */
  #close(error: unknown): unknown {
    this.#done = true;
    this.#timer.finish();
    this.#it?.return?.()?.catch(noop);
    return this.#timer.failure(error);
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
