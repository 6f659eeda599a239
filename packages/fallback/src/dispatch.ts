import {
  type Clock,
  type FallbackReason,
  type LlmRequest,
  type LlmResponse,
  RelError,
  type RequestContext,
  abortReason,
  toRelError,
} from '@rel/core';
import type { Admission } from './circuit-breaker';
import { type StreamFailoverOptions, failoverStream } from './stream-failover';
import type { DispatchTarget } from './target';
import { type Triggers, fallbackReason } from './triggers';

/** A target whose call succeeded (a completion, or a stream that opened). */
export interface Opened {
  readonly target: DispatchTarget;
  readonly admission: Admission;
  readonly response: LlmResponse;
  /** Provider calls the target's middlewares made (more than one: it retried). */
  readonly calls: number;
  /** Clock milliseconds from the call to the response (for a stream: until it opened). */
  readonly openMs: number;
}

/** What a dispatch needs from its route. */
export interface DispatchConfig {
  readonly triggers: Triggers;
  readonly largerContext: DispatchTarget | undefined;
  readonly clock: Clock;
  readonly stream: StreamFailoverOptions;
}

/**
 * One request's walk along its route: tries the candidates in order, skips open breakers, applies
 * the fallback triggers, records each fallback (from, to, reason) in the context and emits it,
 * and, when every breaker is open, tries the one that opened longest ago.
 */
export class Dispatch {
  readonly #req: LlmRequest;
  readonly #ctx: RequestContext;
  readonly #config: DispatchConfig;
  #queue: DispatchTarget[];
  /** Made on first use: most requests open their first target and need neither. */
  #skipped: DispatchTarget[] | undefined;
  #waited: Set<DispatchTarget> | undefined;
  #attempted = false;
  #lastError: RelError | undefined;
  #pending: { from: string; reason: FallbackReason } | undefined;

  constructor(
    req: LlmRequest,
    ctx: RequestContext,
    plan: DispatchTarget[],
    config: DispatchConfig,
    pending?: { from: string; reason: FallbackReason },
  ) {
    this.#req = req;
    this.#ctx = ctx;
    this.#queue = plan;
    this.#config = config;
    this.#pending = pending;
  }

  /**
   * The route's answer: the first candidate that answers, a stream wrapped for mid-stream failover.
   * @throws RelError (as a rejection) the typed failure when no candidate is left or a failure must propagate.
   */
  answer(): Promise<LlmResponse> {
    return this.open().then((opened) =>
      opened.response.type === 'completion'
        ? opened.response
        : failoverStream({ ...opened, response: opened.response }, this, this.#ctx, this.#config.stream),
    );
  }

  /**
   * Opens the next candidate that answers.
   * @throws RelError the typed failure when no candidate is left or a failure must propagate.
   */
  async open(): Promise<Opened> {
    const ctx = this.#ctx;
    const clock = this.#config.clock;
    for (;;) {
      if (ctx.aborted) throw abortReason(ctx.signal);
      const target = this.#queue.shift();
      if (!target) return this.#lastResort();
      // A breaker without a store decides synchronously: no await (and no microtask) for it.
      let admission = target.breaker ? target.breaker.enter() : 'pass';
      if (typeof admission !== 'string') admission = await admission;
      if (admission === 'reject') {
        (this.#skipped ??= []).push(target);
        this.#moveFrom(target.name, 'circuit_open');
        continue;
      }
      // `#try` and `target.call` inline, the same steps: one async frame instead of three on the
      // path of almost every request.
      this.#recordMove(target.name);
      this.#attempted = true;
      const start = clock.now();
      const scope = target.begin(ctx);
      const req = this.#req;
      let response: LlmResponse | undefined;
      let error: unknown;
      let failed = false;
      try {
        response = await target.pipeline(req.model === target.model ? req : { ...req, model: target.model }, ctx);
      } catch (e) {
        error = e;
        failed = true;
      }
      const calls = target.end(ctx, scope);
      const openMs = clock.now() - start;
      if (failed) {
        await this.fail(target, admission, error, calls, openMs);
        continue;
      }
      // As `#try`: a handler that resolved with nothing fails here, as a TypeError.
      const answered = response as LlmResponse;
      if (answered.type === 'completion' && target.breaker) {
        const recorded = target.breaker.record(admission, 'success', openMs);
        if (recorded) await recorded;
      }
      return { target, admission, response: answered, calls, openMs };
    }
  }

  /**
   * Counts a failure of `target` in its breaker and decides: returns when the route may fall back
   * (the next `open` goes on), throws the typed failure when it must propagate.
   */
  async fail(
    target: DispatchTarget,
    admission: Admission,
    error: unknown,
    calls: number,
    durationMs: number,
  ): Promise<void> {
    const err = toRelError(error, this.#ctx.signal);
    if (target.breaker)
      await target.breaker.record(admission, target.breaker.classify(err, this.#ctx.signal), durationMs);
    if (this.#ctx.aborted || err.failure.kind === 'cancelled') throw err;
    this.#lastError = err;
    if (this.#shouldWait(target, err)) {
      await this.#config.clock.sleep((err.failure as { retryAfterMs: number }).retryAfterMs, this.#ctx.signal);
      this.#queue.unshift(target);
      return;
    }
    const reason = fallbackReason(err.failure, this.#config.triggers, calls > 1);
    if (reason === undefined) throw err;
    if (reason === 'context_length_exceeded') this.#toLargerContext(target, err);
    this.#moveFrom(target.name, reason);
  }

  /**
   * Continues an interrupted stream on the next remaining target that supports assistant prefill,
   * sending `partialText` as the start of the answer. Returns the failure of the last continuation
   * tried (or nothing when no target could continue) instead of throwing.
   */
  async continueFrom(from: DispatchTarget, partialText: string): Promise<Opened | { error: unknown }> {
    const req: LlmRequest = {
      ...this.#req,
      messages: [...this.#req.messages, { role: 'assistant', content: partialText }],
    };
    this.#moveFrom(from.name, 'stream_interrupted');
    let lastError: unknown;
    for (const target of this.#queue.filter((t) => t.supportsPrefill)) {
      if (this.#ctx.aborted) return { error: abortReason(this.#ctx.signal) };
      this.#queue = this.#queue.filter((t) => t !== target);
      const admission = target.breaker ? await target.breaker.enter() : 'pass';
      if (admission === 'reject') continue;
      const result = await this.#try(target, admission, req);
      if ('response' in result) return result;
      const err = toRelError(result.error, this.#ctx.signal);
      if (target.breaker)
        await target.breaker.record(admission, target.breaker.classify(err, this.#ctx.signal), result.openMs);
      lastError = err;
      this.#moveFrom(target.name, 'stream_interrupted');
    }
    return { error: lastError };
  }

  async #try(
    target: DispatchTarget,
    admission: Admission,
    req: LlmRequest,
  ): Promise<Opened | { error: unknown; calls: number; openMs: number }> {
    this.#recordMove(target.name);
    this.#attempted = true;
    const clock = this.#config.clock;
    const start = clock.now();
    const result = await target.call(req, this.#ctx);
    const openMs = clock.now() - start;
    if (!result.ok) return { error: result.error, calls: result.calls, openMs };
    if (result.response.type === 'completion' && target.breaker) {
      const recorded = target.breaker.record(admission, 'success', openMs);
      if (recorded) await recorded;
    }
    return { target, admission, response: result.response, calls: result.calls, openMs };
  }

  /** Every candidate was refused by its breaker: try the one whose breaker opened longest ago. */
  async #lastResort(): Promise<Opened> {
    const skipped = this.#skipped ?? [];
    this.#skipped = undefined;
    if (this.#attempted || skipped.length === 0) {
      throw this.#lastError ?? new RelError({ kind: 'internal', message: 'route has no target left' });
    }
    let best: DispatchTarget | undefined;
    for (const t of skipped) {
      if (t.breaker?.forced) continue;
      if (!best || (t.breaker?.openedAt ?? 0) < (best.breaker?.openedAt ?? 0)) best = t;
    }
    if (!best) throw skipped[0]!.breaker!.openError();
    const result = await this.#try(best, 'reject', this.#req);
    if ('response' in result) return result;
    await this.fail(best, 'reject', result.error, result.calls, result.openMs);
    return this.open();
  }

  #shouldWait(target: DispatchTarget, err: RelError): boolean {
    const rl = this.#config.triggers.rateLimited;
    if (err.failure.kind !== 'rate_limited' || typeof rl !== 'object' || this.#waited?.has(target)) return false;
    const wait = err.failure.retryAfterMs;
    if (wait === undefined || wait > rl.waitUpToMs || wait >= this.#ctx.remainingMs()) return false;
    (this.#waited ??= new Set()).add(target);
    return true;
  }

  /** After a context overflow: the larger-context target first, never the same model again. */
  #toLargerContext(from: DispatchTarget, err: RelError): void {
    const window = from.contextWindow ?? 0;
    const configured = this.#config.largerContext;
    const larger =
      configured && configured !== from && configured.model !== from.model
        ? configured
        : this.#queue.find((t) => t.model !== from.model && (t.contextWindow ?? 0) > window);
    if (!larger) throw err;
    this.#queue = [
      larger,
      ...this.#queue.filter((t) => t !== larger && t.model !== from.model && (t.contextWindow ?? 0) > window),
    ];
  }

  #moveFrom(from: string, reason: FallbackReason): void {
    this.#pending ??= { from, reason };
  }

  #recordMove(to: string): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    if (pending.from === to) return;
    const ctx = this.#ctx;
    ctx.recordFallback({ from: pending.from, to, reason: pending.reason, at: ctx.clock.now() });
    ctx.events?.emit('fallback', { requestId: ctx.requestId, from: pending.from, to, reason: pending.reason });
  }
}
