import {
  type Attributes,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import {
  type LlmRequest,
  type Middleware,
  type RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  type ToolCall,
  mapStream,
} from '@rel/core';
import { inputMessagesJson, outputMessagesJson } from './content';
import type { AttemptTarget } from './options';
import { genAiRequestAttributes } from './request-attributes';
import { type Answer, type FailureFacts, answerOfCompletion, answerOfStream, failureFacts } from './request-summary';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_REL_ABANDONED,
  ATTR_REL_ATTEMPT_NUMBER,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from './semconv';
import type { TelemetryState } from './state';
import { watchAbandon } from './stream-watch';

/**
 * The innermost middleware, around one provider's handler: a CLIENT span per attempt named
 * `{operation} {model}`, child of the request span, with the time to first chunk of a stream.
 */
export function attemptMiddleware(state: TelemetryState, target: AttemptTarget): Middleware {
  return (next) => async (req, ctx) => {
    if (state.closed) return next(req, ctx);
    const request = state.active.get(ctx.requestId);
    const parent = request?.context ?? context.active();
    const span = state.tracer.startSpan(`${ctx.operation} ${req.model}`, { kind: SpanKind.CLIENT }, parent);
    if (request) {
      request.attemptsSeen += 1;
      request.lastProvider = target.provider;
    }
    if (!span.isRecording()) {
      // A span that neither records nor carries a trace (no SDK, no incoming trace) has nothing
      // to hand down: the layers below keep the parent context, and no context is made per attempt.
      const spanContext = isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : undefined;
      try {
        const res = spanContext ? await context.with(spanContext, next, undefined, req, ctx) : await next(req, ctx);
        if (request) request.answeredBy = target.provider;
        return res;
      } finally {
        span.end();
      }
    }
    span.setAttributes(startAttributes(state, target, req, ctx, request?.attemptsSeen));
    const startMs = ctx.clock.now();
    try {
      const res = await context.with(trace.setSpan(parent, span), next, undefined, req, ctx);
      if (res.type === 'completion') {
        if (request) request.answeredBy = target.provider;
        endAttempt(span, answerOfCompletion(res), undefined);
        if (state.options.captureContent) {
          span.setAttribute(ATTR_GEN_AI_OUTPUT_MESSAGES, outputMessagesJson(res.message, res.finishReason));
        }
        span.end();
        return res;
      }
      if (request) request.answeredBy = target.provider;
      // A stream left unread or paused when the signal aborts ends its span as abandoned.
      const tracked: StreamSpan = { span, ended: false, finish: undefined };
      const watched = watchAbandon(observeStream(res.chunks, state, tracked, ctx, startMs, res), ctx, () => {
        if (tracked.ended) return;
        tracked.ended = true;
        span.setAttribute(ATTR_REL_ABANDONED, 'signal_aborted');
        endAttempt(span, answerOfStream(res, tracked.finish), undefined);
        span.end();
      });
      return mapStream(res, () => watched.chunks);
    } catch (error) {
      endAttempt(span, undefined, failureFacts(error, ctx.signal));
      span.end();
      throw error;
    }
  };
}

function startAttributes(
  state: TelemetryState,
  target: AttemptTarget,
  req: LlmRequest,
  ctx: RequestContext,
  seen: number | undefined,
): Attributes {
  const attrs = genAiRequestAttributes(req, ctx);
  attrs[ATTR_GEN_AI_PROVIDER_NAME] = target.provider;
  const attempt = ctx.attempt ?? seen;
  if (attempt !== undefined) attrs[ATTR_REL_ATTEMPT_NUMBER] = attempt;
  if (target.serverAddress !== undefined) attrs[ATTR_SERVER_ADDRESS] = target.serverAddress;
  if (target.serverPort !== undefined) attrs[ATTR_SERVER_PORT] = target.serverPort;
  if (state.options.captureContent) attrs[ATTR_GEN_AI_INPUT_MESSAGES] = inputMessagesJson(req.messages);
  return attrs;
}

function endAttempt(span: Span, answer: Answer | undefined, failure: FailureFacts | undefined): void {
  const attrs: Attributes = {};
  if (answer?.model) attrs[ATTR_GEN_AI_RESPONSE_MODEL] = answer.model;
  if (answer?.id) attrs[ATTR_GEN_AI_RESPONSE_ID] = answer.id;
  if (answer?.finishReason) attrs[ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [answer.finishReason];
  if (answer?.usage) {
    attrs[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = answer.usage.inputTokens;
    attrs[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = answer.usage.outputTokens;
    if (answer.usage.cachedInputTokens !== undefined) {
      attrs[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = answer.usage.cachedInputTokens;
    }
  }
  if (failure) {
    attrs[ATTR_ERROR_TYPE] = failure.errorType;
    span.setStatus({ code: SpanStatusCode.ERROR, message: failure.errorType });
  }
  span.setAttributes(attrs);
}

/** The attempt span of a stream, ended once: by the stream's end or by its abandonment. */
interface StreamSpan {
  readonly span: Span;
  ended: boolean;
  finish: Extract<StreamChunk, { type: 'finish' }> | undefined;
}

async function* observeStream(
  chunks: AsyncIterable<StreamChunk>,
  state: TelemetryState,
  tracked: StreamSpan,
  ctx: RequestContext,
  startMs: number,
  res: StreamingCompletion,
) {
  const { span } = tracked;
  const capture = state.options.captureContent;
  let finish: Extract<StreamChunk, { type: 'finish' }> | undefined;
  let first = true;
  let failure: FailureFacts | undefined;
  let text = '';
  const calls: ToolCall[] = [];
  try {
    for await (const chunk of chunks) {
      if (first) {
        first = false;
        span.setAttribute(ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, (ctx.clock.now() - startMs) / 1000);
      }
      if (chunk.type === 'finish') {
        finish = chunk;
        tracked.finish = chunk;
      } else if (capture && chunk.type === 'text-delta') text += chunk.text;
      else if (capture && chunk.type === 'tool-call-delta') {
        const call = (calls[chunk.index] ??= { id: '', name: '', arguments: '' });
        if (chunk.id) call.id = chunk.id;
        if (chunk.name) call.name += chunk.name;
        if (chunk.argumentsDelta) call.arguments += chunk.argumentsDelta;
      }
      yield chunk;
    }
    if (!finish) failure = { errorType: 'stream_interrupted', errorClass: 'unavailable' };
  } catch (error) {
    failure = failureFacts(error, ctx.signal);
    throw error;
  } finally {
    if (!tracked.ended) endStreamSpan(tracked, state, res, finish, failure, text, calls);
  }
}

function endStreamSpan(
  tracked: StreamSpan,
  state: TelemetryState,
  res: StreamingCompletion,
  finish: Extract<StreamChunk, { type: 'finish' }> | undefined,
  failure: FailureFacts | undefined,
  text: string,
  calls: ToolCall[],
): void {
  const { span } = tracked;
  const capture = state.options.captureContent;
  tracked.ended = true;
  endAttempt(span, answerOfStream(res, finish), failure);
  if (capture) {
    const toolCalls = calls.filter(Boolean);
    const message = { content: text || null, ...(toolCalls.length ? { toolCalls } : {}) };
    span.setAttribute(ATTR_GEN_AI_OUTPUT_MESSAGES, outputMessagesJson(message, finish?.finishReason));
  }
  span.end();
}
