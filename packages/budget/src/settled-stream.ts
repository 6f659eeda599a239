import { CallGate, type RequestContext, type StreamChunk, type StreamingCompletion, type Usage } from '@rel/core';
import type { BudgetPolicy, Reservation } from './budget-policy';

type Finish = Extract<StreamChunk, { type: 'finish' }>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A stream's chunks that settle its reservation when it ends (or release it when no token was
 * used): at its end, on a failure, and when the consumer stops reading, even before the first
 * chunk; a consumer that stops early closes the upstream too (its connection is released). One
 * iterator, not an async generator plus a wrapper: a chunk costs one `then` on the upstream's
 * promise. It keeps a generator's order: a call made while another is in progress waits for it.
 * @internal
 */
export class SettledStream implements AsyncIterableIterator<StreamChunk> {
  readonly #upstream: AsyncIterator<StreamChunk>;
  readonly #policy: BudgetPolicy;
  readonly #reservation: Reservation;
  readonly #before: Usage;
  readonly #ctx: RequestContext;
  readonly #provider: string | undefined;
  #finish: Finish | undefined;
  /** A call was made (`next` or `return`): a close no longer needs to end the reservation itself. */
  #started = false;
  /** Nothing more is read: the stream ended, failed or was closed. */
  #done = false;
  /** The reservation was settled or released (or that is under way). */
  #ended = false;
  /** The call in progress, which the next call waits for. */
  readonly #gate = new CallGate();

  constructor(
    policy: BudgetPolicy,
    reservation: Reservation,
    before: Usage,
    ctx: RequestContext,
    response: StreamingCompletion,
  ) {
    this.#policy = policy;
    this.#reservation = reservation;
    this.#before = before;
    this.#ctx = ctx;
    this.#provider = response.provider;
    this.#upstream = response.chunks[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamChunk>> {
    if (this.#gate.busy !== undefined) return this.#gate.after(() => this.next());
    this.#started = true;
    if (this.#done) return Promise.resolve(DONE);
    let pending: Promise<IteratorResult<StreamChunk>>;
    try {
      pending = this.#upstream.next();
    } catch (error) {
      return this.#fail(error);
    }
    // `#onResult` clears the gate for a chunk; an end or a failure clears it once the reservation ended.
    const read = pending.then(this.#onResult, this.#onError);
    this.#gate.busy = read;
    return read;
  }

  return(value?: unknown): Promise<IteratorResult<StreamChunk>> {
    if (this.#gate.busy !== undefined) return this.#gate.after(() => this.return(value));
    const result: IteratorReturnResult<undefined> = { done: true, value: value as undefined };
    if (!this.#started) {
      // Closed before its first `next`: end the reservation and close the upstream here.
      this.#started = true;
      return this.#gate.track(
        this.#closeUpstream().then(() => {
          this.#done = true;
          return result;
        }),
      );
    }
    if (this.#done) return Promise.resolve(result);
    this.#done = true;
    return this.#gate.track(this.#closeUpstream().then(() => result));
  }

  throw(error?: unknown): Promise<IteratorResult<StreamChunk>> {
    if (this.#gate.busy !== undefined) return this.#gate.after(() => this.throw(error));
    if (!this.#started || this.#done) {
      this.#done = true;
      return Promise.reject(error);
    }
    return this.#fail(error);
  }

  readonly #onResult = (result: IteratorResult<StreamChunk>): IteratorResult<StreamChunk> | Promise<typeof DONE> => {
    if (result.done) {
      this.#done = true;
      return this.#gate.track(this.#closeUpstream().then(() => DONE));
    }
    if (result.value.type === 'finish') this.#finish = result.value;
    this.#gate.busy = undefined;
    return result;
  };

  readonly #onError = (error: unknown): Promise<never> => this.#fail(error);

  /** Ends the stream on `error`: closes the upstream, ends the reservation, then rejects with `error`. */
  #fail(error: unknown): Promise<never> {
    this.#done = true;
    return this.#gate.track(
      this.#closeUpstream().then(() => {
        throw error;
      }),
    );
  }

  /**
   * Closes the upstream (unless the reservation already ended), then ends the reservation, even
   * when closing the upstream fails (that failure is then passed on).
   */
  async #closeUpstream(): Promise<void> {
    try {
      if (!this.#ended) await this.#upstream.return?.();
    } finally {
      await this.#endStream();
    }
  }

  /** Runs once: settles with the usage seen, or releases when no token was used. */
  async #endStream(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    const finish = this.#finish;
    const usage = usageSince(this.#before, this.#ctx) ?? finish?.usage;
    if (usage) {
      await this.#policy.settle(this.#reservation, usage, {
        ...(finish?.model ? { model: finish.model } : {}),
        ...(this.#provider ? { provider: this.#provider } : {}),
      });
    } else await this.#policy.release(this.#reservation);
  }
}

/** The usage recorded on `ctx` since it stood at `before`, or `undefined` when no token was. @internal */
export function usageSince(before: Usage, ctx: RequestContext): Usage | undefined {
  const now = ctx.usage;
  const delta: Usage = {
    inputTokens: now.inputTokens - before.inputTokens,
    outputTokens: now.outputTokens - before.outputTokens,
  };
  if (delta.inputTokens + delta.outputTokens === 0) return undefined;
  if (now.cachedInputTokens !== undefined)
    delta.cachedInputTokens = diff(now.cachedInputTokens, before.cachedInputTokens);
  if (now.cacheCreationInputTokens !== undefined) {
    delta.cacheCreationInputTokens = diff(now.cacheCreationInputTokens, before.cacheCreationInputTokens);
  }
  if (now.reasoningTokens !== undefined) delta.reasoningTokens = diff(now.reasoningTokens, before.reasoningTokens);
  return delta;
}

function diff(a?: number, b?: number): number {
  return (a ?? 0) - (b ?? 0);
}
