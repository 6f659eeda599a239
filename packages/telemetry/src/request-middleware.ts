import {
  type Attributes,
  SpanKind,
  SpanStatusCode,
  context,
  diag,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import {
  type Completion,
  type LlmRequest,
  type LlmResponse,
  type Middleware,
  type RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  mapStream,
} from '@rel/core';
import type { Instruments } from './instruments';
import { requestJsonLine, requestLogRecord, writeLine } from './request-log';
import {
  type Answer,
  type FailureFacts,
  type FinishChunk,
  type RequestSummary,
  answerOfCompletion,
  answerOfStream,
  failureFacts,
  summarizeRequest,
} from './request-summary';
import { genAiRequestAttributes } from './request-attributes';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_COST,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_REL_ABANDONED,
  ATTR_REL_ANSWER_MODEL,
  ATTR_REL_ATTEMPT_COUNT,
  ATTR_REL_BUDGET_REMAINING,
  ATTR_REL_COST_INPUT,
  ATTR_REL_COST_OUTPUT,
  ATTR_REL_COST_TOTAL,
  ATTR_REL_DEGRADED,
  ATTR_REL_ERROR_CLASS,
  ATTR_REL_FALLBACK_FROM,
  ATTR_REL_FALLBACK_REASON,
  ATTR_REL_FALLBACK_TO,
  ATTR_REL_FALLBACK_TRIGGERED,
  ATTR_REL_ORG_ID,
  ATTR_REL_REQUEST_ID,
  ATTR_REL_REQUEST_IDEMPOTENCY_KEY,
  ATTR_REL_SAFE_DEFAULT,
  ATTR_USER_ID,
  GEN_AI_TOKEN_TYPE_INPUT,
  GEN_AI_TOKEN_TYPE_OUTPUT,
  EVENT_REL_GUARDRAIL_EVALUATED,
} from './semconv';
import { guardrailEventAttributes } from './span-events';
import type { AbandonReason, RequestState, TelemetryState } from './state';

/**
 * The outermost middleware: an INTERNAL span per logical request, then, when the call (or its
 * stream) ends, the duration/token/cost/error metrics and the one log record.
 *
 * A stream that is unread or paused when the request's signal aborts is ended as abandoned, and
 * over `maxInFlight` requests in flight the oldest is; so a stream that is never read cannot keep
 * its span open and its entry in flight forever.
 */
export function requestMiddleware(state: TelemetryState): Middleware {
  return (next) => async (req, ctx) => {
    if (state.closed) return next(req, ctx);
    const parent = context.active();
    const span = state.tracer.startSpan(`rel ${ctx.operation} ${req.model}`, { kind: SpanKind.INTERNAL }, parent);
    const recording = span.isRecording();
    if (recording) span.setAttributes(startAttributes(state, req, ctx));
    const request: RequestState = {
      span,
      context: trace.setSpan(parent, span),
      recording,
      startMs: ctx.clock.now(),
      firstChunkMs: undefined,
      attemptsSeen: 0,
      answeredBy: undefined,
      lastProvider: undefined,
      guardrailEvents: 0,
      ended: false,
      abandon: (reason) => endRequest(state, request, req, ctx, undefined, undefined, reason),
      stopWatching: undefined,
    };
    admit(state, ctx.requestId, request);
    let res: LlmResponse;
    try {
      res = await context.with(request.context, next, undefined, req, ctx);
    } catch (error) {
      endRequest(state, request, req, ctx, undefined, failureFacts(error, ctx.signal));
      throw error;
    }
    if (res.type === 'completion') {
      // The completion itself: its answer facts are read only if something records them.
      endRequest(state, request, req, ctx, res, undefined);
      return res;
    }
    if (request.ended) return res;
    const observed = new ObservedStream(state, request, req, ctx, res);
    request.abandon = (reason) =>
      endRequest(state, request, req, ctx, { type: 'stream-end', res, finish: observed.finish }, undefined, reason);
    request.stopWatching = observed.stop;
    return mapStream(res, () => observed);
  };
}

/** Tracks a request in flight, first ending the oldest one's telemetry when `maxInFlight` are. */
function admit(state: TelemetryState, requestId: string, request: RequestState): void {
  if (!state.active.has(requestId) && state.active.size >= state.options.maxInFlight) {
    const oldest = state.active.values().next();
    if (!oldest.done) oldest.value.abandon('evicted');
  }
  state.active.set(requestId, request);
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A request's stream as its telemetry sees it: the time to first chunk, the `finish` chunk, and
 * the request's end (its span, metrics and log record) when the stream ends, fails or is closed.
 * It also watches for abandonment: when the context aborts while the consumer is not waiting on
 * the stream (it never started reading, or paused between chunks), the request ends as abandoned,
 * since no read will come to end it; a consumer waiting on a chunk gets the failure from the
 * stream itself. The abort listener (through `onAbort`, no `AbortSignal` made) is removed when the
 * stream ends, fails or is closed, or `stop` is called.
 *
 * One iterator for what an async generator (the observation) inside `watchAbandon` did, with the
 * same outcomes: closing it before its first read does nothing but stop the watch; closing it
 * later closes the source, then ends the request.
 */
class ObservedStream implements AsyncIterableIterator<StreamChunk> {
  readonly #state: TelemetryState;
  readonly #request: RequestState;
  readonly #req: LlmRequest;
  readonly #ctx: RequestContext;
  readonly #res: StreamingCompletion;
  #it: AsyncIterator<StreamChunk> | undefined;
  #done = false;
  #emitted = 0;
  /** A `next()` in progress; `return()` and `throw()` wait for it, as a generator's would. */
  #pending: Promise<unknown> | undefined;
  /** The `finish` chunk, once delivered. */
  finish: FinishChunk | undefined;
  #pulling = false;
  #settled = false;
  readonly #unlisten: (() => void) | undefined;

  constructor(
    state: TelemetryState,
    request: RequestState,
    req: LlmRequest,
    ctx: RequestContext,
    res: StreamingCompletion,
  ) {
    this.#state = state;
    this.#request = request;
    this.#req = req;
    this.#ctx = ctx;
    this.#res = res;
    this.#unlisten = ctx.aborted ? undefined : ctx.onAbort(this.#onAbort);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  readonly #onAbort = (): void => {
    if (this.#pulling || this.#settled) return;
    this.#settled = true;
    this.#request.abandon('signal_aborted');
  };

  /** Stops watching for abandonment (removes the abort listener). Idempotent. */
  readonly stop = (): void => {
    this.#settled = true;
    this.#unlisten?.();
  };

  next(): Promise<IteratorResult<StreamChunk>> {
    if (this.#done) return Promise.resolve(DONE);
    const pending = this.#next();
    this.#pending = pending;
    return pending;
  }

  async #next(): Promise<IteratorResult<StreamChunk>> {
    const it = (this.#it ??= this.#res.chunks[Symbol.asyncIterator]());
    this.#pulling = true;
    let result: IteratorResult<StreamChunk>;
    try {
      result = await it.next();
    } catch (error) {
      this.#pulling = false;
      this.#pending = undefined;
      this.#done = true;
      this.#end(failureFacts(error, this.#ctx.signal));
      this.stop();
      throw error;
    }
    this.#pulling = false;
    this.#pending = undefined;
    if (result.done) {
      this.#done = true;
      // A stream that ends without `finish` was interrupted: the caller did not get a whole answer.
      this.#end(this.finish ? undefined : { errorType: 'stream_interrupted', errorClass: 'unavailable' });
      this.stop();
      return result;
    }
    const chunk = result.value;
    if (this.#emitted++ === 0) this.#request.firstChunkMs = this.#ctx.clock.now();
    if (chunk.type === 'finish') this.finish = chunk;
    return result;
  }

  async return(value?: unknown): Promise<IteratorResult<StreamChunk>> {
    this.stop();
    if (this.#pending) await this.#pending.catch(() => {});
    const result = { done: true as const, value: value as undefined };
    if (this.#done || this.#it === undefined) {
      this.#done = true;
      return result;
    }
    this.#done = true;
    // The consumer stopped early (break, return): its choice, not a failure.
    try {
      await this.#it.return?.();
    } finally {
      this.#end(undefined);
    }
    return result;
  }

  async throw(error?: unknown): Promise<IteratorResult<StreamChunk>> {
    this.stop();
    if (this.#pending) await this.#pending.catch(() => {});
    if (this.#done || this.#it === undefined) {
      this.#done = true;
      throw error;
    }
    this.#done = true;
    const failure = failureFacts(error, this.#ctx.signal);
    try {
      await this.#it.return?.();
    } catch {
      // The error thrown in is what the consumer gets, as from a generator's loop.
    } finally {
      this.#end(failure);
    }
    throw error;
  }

  #end(failure: FailureFacts | undefined): void {
    endRequest(
      this.#state,
      this.#request,
      this.#req,
      this.#ctx,
      { type: 'stream-end', res: this.#res, finish: this.finish },
      failure,
    );
  }
}

function startAttributes(state: TelemetryState, req: LlmRequest, ctx: RequestContext): Attributes {
  const attrs = genAiRequestAttributes(req, ctx);
  attrs[ATTR_REL_REQUEST_ID] = ctx.requestId;
  attrs[ATTR_REL_REQUEST_IDEMPOTENCY_KEY] = state.hash(ctx.idempotencyKey);
  if (ctx.principal.orgId !== undefined) attrs[ATTR_REL_ORG_ID] = ctx.principal.orgId;
  if (ctx.principal.userId !== undefined) attrs[ATTR_USER_ID] = state.hashUser(ctx.principal.userId);
  return attrs;
}

/**
 * Where a request's answer facts come from: the completion, or the stream and the finish chunk it
 * delivered. Turned into an `Answer` only when something records it (with no SDK, nothing does).
 */
type AnswerSource =
  | Completion
  | { readonly type: 'stream-end'; readonly res: StreamingCompletion; readonly finish: FinishChunk | undefined };

/** The answer facts of `source`, naming `provider` (the target given to `attempt`) when there is one, else the adapter's. */
function answerOf(source: AnswerSource | undefined, provider: string | undefined): Answer | undefined {
  if (source === undefined) return undefined;
  return source.type === 'completion'
    ? answerOfCompletion(source, provider || source.provider)
    : answerOfStream(source.res, source.finish, provider || source.res.provider);
}

function endRequest(
  state: TelemetryState,
  request: RequestState,
  req: LlmRequest,
  ctx: RequestContext,
  source: AnswerSource | undefined,
  failure: FailureFacts | undefined,
  abandoned?: AbandonReason,
): void {
  if (request.ended) return;
  request.ended = true;
  request.stopWatching?.();
  if (state.active.get(ctx.requestId) === request) state.active.delete(ctx.requestId);
  try {
    const instruments = state.instruments.get();
    if (!request.recording && !instruments && !state.logger && !state.jsonLines) return;
    const endMs = ctx.clock.now();
    // The provider name given to `attempt` is the one chosen for telemetry; the adapter's is the fallback.
    const answer = answerOf(source, request.answeredBy);
    const summary = summarizeRequest({
      req,
      ctx,
      answer,
      failure,
      startMs: request.startMs,
      endMs,
      firstChunkMs: request.firstChunkMs,
      attemptsSeen: request.attemptsSeen,
    });
    if (request.recording) annotateSpan(request, ctx, summary, abandoned);
    // `gen_ai.provider.name` is required on the metrics: a failed request names the last provider it tried.
    if (instruments) recordMetrics(instruments, summary, summary.answer?.provider ?? request.lastProvider);
    state.logger?.emit(requestLogRecord(summary, endMs, request.context));
    if (state.jsonLines) {
      const sc = request.span.spanContext();
      const line = requestJsonLine(summary, endMs, {
        service: state.options.serviceName,
        traceId: isSpanContextValid(sc) ? sc.traceId : undefined,
      });
      writeLine(state.jsonLines, line, (error) => diag.error('@rel/telemetry: JSON-lines sink failed', error));
    }
  } catch (error) {
    diag.error('@rel/telemetry: could not record a request', error);
  } finally {
    request.span.end();
  }
}

function annotateSpan(
  request: RequestState,
  ctx: RequestContext,
  s: RequestSummary,
  abandoned: AbandonReason | undefined,
): void {
  const { span } = request;
  const a = s.answer;
  const attrs: Attributes = {
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: s.usage.inputTokens,
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: s.usage.outputTokens,
    [ATTR_REL_ATTEMPT_COUNT]: s.attempts,
    [ATTR_REL_FALLBACK_TRIGGERED]: s.fallback !== undefined,
    [ATTR_REL_COST_INPUT]: s.cost.inputUsd,
    [ATTR_REL_COST_OUTPUT]: s.cost.outputUsd,
    [ATTR_REL_COST_TOTAL]: s.cost.totalUsd,
    [ATTR_GEN_AI_USAGE_COST]: s.cost.totalUsd,
    [ATTR_REL_DEGRADED]: s.degraded,
    [ATTR_REL_SAFE_DEFAULT]: s.safeDefault,
  };
  if (a?.provider) attrs[ATTR_GEN_AI_PROVIDER_NAME] = a.provider;
  if (a?.requestedModel) attrs[ATTR_REL_ANSWER_MODEL] = a.requestedModel;
  if (a?.model) attrs[ATTR_GEN_AI_RESPONSE_MODEL] = a.model;
  if (a?.id) attrs[ATTR_GEN_AI_RESPONSE_ID] = a.id;
  if (a?.finishReason) attrs[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [a.finishReason];
  if (s.usage.cachedInputTokens !== undefined)
    attrs[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = s.usage.cachedInputTokens;
  if (s.timeToFirstChunkMs !== undefined) attrs[ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = s.timeToFirstChunkMs / 1000;
  if (s.fallback) {
    attrs[ATTR_REL_FALLBACK_REASON] = s.fallback.reason;
    attrs[ATTR_REL_FALLBACK_FROM] = s.fallback.from;
    attrs[ATTR_REL_FALLBACK_TO] = s.fallback.to;
  }
  if (s.budgetRemaining !== undefined) attrs[ATTR_REL_BUDGET_REMAINING] = s.budgetRemaining;
  if (abandoned) attrs[ATTR_REL_ABANDONED] = abandoned;
  if (s.failure) {
    attrs[ATTR_ERROR_TYPE] = s.failure.errorType;
    attrs[ATTR_REL_ERROR_CLASS] = s.failure.errorClass;
    // The status message is the failure kind only: an error's message may quote the prompt.
    span.setStatus({ code: SpanStatusCode.ERROR, message: s.failure.errorType });
  }
  span.setAttributes(attrs);
  // Verdicts recorded on the context reach the span even when no event hub delivered them.
  if (request.guardrailEvents === 0) {
    for (const v of ctx.verdicts) span.addEvent(EVENT_REL_GUARDRAIL_EVALUATED, guardrailEventAttributes(v));
  }
}

/** The attributes every request metric carries: operation, requested model, provider and answering model when known. */
function metricAttributes(s: RequestSummary, provider: string | undefined): Attributes {
  const attrs: Attributes = { [ATTR_GEN_AI_OPERATION_NAME]: s.operation, [ATTR_GEN_AI_REQUEST_MODEL]: s.requestModel };
  if (provider) attrs[ATTR_GEN_AI_PROVIDER_NAME] = provider;
  if (s.answer?.model) attrs[ATTR_GEN_AI_RESPONSE_MODEL] = s.answer.model;
  return attrs;
}

function recordMetrics(instruments: Instruments, s: RequestSummary, provider: string | undefined): void {
  const base = metricAttributes(s, provider);
  let duration = base;
  if (s.failure) {
    duration = metricAttributes(s, provider);
    duration[ATTR_ERROR_TYPE] = s.failure.errorType;
  }
  instruments.duration.record(s.latencyMs / 1000, duration);
  if (s.usage.inputTokens + s.usage.outputTokens > 0) {
    // Each point its own object, built like `base` (a spread with a computed key is a slow path).
    const input = metricAttributes(s, provider);
    input[ATTR_GEN_AI_TOKEN_TYPE] = GEN_AI_TOKEN_TYPE_INPUT;
    instruments.tokens.record(s.usage.inputTokens, input);
    const output = metricAttributes(s, provider);
    output[ATTR_GEN_AI_TOKEN_TYPE] = GEN_AI_TOKEN_TYPE_OUTPUT;
    instruments.tokens.record(s.usage.outputTokens, output);
  }
  if (s.timeToFirstChunkMs !== undefined) instruments.timeToFirstChunk.record(s.timeToFirstChunkMs / 1000, base);
  if (s.cost.totalUsd > 0) instruments.cost.addTo(base, s.cost.totalUsd);
  if (s.failure) {
    instruments.errors.add(1, {
      [ATTR_GEN_AI_OPERATION_NAME]: s.operation,
      [ATTR_GEN_AI_REQUEST_MODEL]: s.requestModel,
      [ATTR_REL_ERROR_CLASS]: s.failure.errorClass,
      [ATTR_ERROR_TYPE]: s.failure.errorType,
    });
  }
}
