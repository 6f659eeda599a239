import {
  type Completion,
  type Cost,
  type FallbackRecord,
  type LlmRequest,
  type RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  type Usage,
  type UserErrorClass,
  toRelError,
} from '@rel/core';
import { ATTR_REL_BUDGET_REMAINING } from './semconv';

/** The finish chunk of a stream. */
export type FinishChunk = Extract<StreamChunk, { type: 'finish' }>;

/** What is known about the answer that reached the caller (or the attempt). */
export interface Answer {
  readonly requestedModel?: string;
  readonly provider?: string;
  readonly model?: string;
  readonly id?: string;
  readonly finishReason?: string;
  readonly usage?: Usage;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The answer facts of a complete response.
 * @param provider the provider to report, when truthy (default the completion's own)
 */
export function answerOfCompletion(c: Completion, provider: string | undefined = c.provider): Answer {
  const a: Mutable<Answer> = {
    requestedModel: c.requestedModel,
    model: c.model,
    id: c.id,
    finishReason: c.finishReason,
    usage: c.usage,
  };
  if (provider) a.provider = provider;
  return a;
}

/**
 * The answer facts of a stream, from its finish chunk when one arrived.
 * @param provider the provider to report, when truthy (default the stream's own)
 */
export function answerOfStream(
  s: StreamingCompletion,
  finish: FinishChunk | undefined,
  provider: string | undefined = s.provider,
): Answer {
  const a: Mutable<Answer> = { requestedModel: s.requestedModel };
  if (provider) a.provider = provider;
  if (finish?.model) a.model = finish.model;
  if (finish?.id) a.id = finish.id;
  if (finish) a.finishReason = finish.finishReason;
  if (finish?.usage) a.usage = finish.usage;
  return a;
}

/** How a failure is reported: `error.type` (the failure kind) and the user-visible class. */
export interface FailureFacts {
  readonly errorType: string;
  readonly errorClass: UserErrorClass;
}

/** Classifies anything thrown. Never reads the error's message, which may carry prompt text. */
export function failureFacts(error: unknown, signal?: AbortSignal): FailureFacts {
  const rel = toRelError(error, signal);
  return { errorType: rel.failure.kind, errorClass: rel.info.userClass };
}

/** Everything exported about one logical request: the request span's end attributes, metrics and the log record. */
export interface RequestSummary {
  readonly requestId: string;
  readonly orgId: string | undefined;
  readonly operation: string;
  readonly requestModel: string;
  readonly stream: boolean;
  readonly answer: Answer | undefined;
  readonly latencyMs: number;
  readonly timeToFirstChunkMs: number | undefined;
  readonly usage: Usage;
  readonly cost: Cost;
  readonly attempts: number;
  readonly fallback: FallbackRecord | undefined;
  readonly failure: FailureFacts | undefined;
  readonly degraded: boolean;
  readonly safeDefault: boolean;
  readonly budgetRemaining: number | undefined;
}

/** Reads the request's facts from its context once the call (or its stream) ended. */
export function summarizeRequest(input: {
  req: LlmRequest;
  ctx: RequestContext;
  answer: Answer | undefined;
  failure: FailureFacts | undefined;
  startMs: number;
  endMs: number;
  firstChunkMs: number | undefined;
  attemptsSeen: number;
}): RequestSummary {
  const { req, ctx, answer } = input;
  const recorded = ctx.usage;
  // Provider adapters record usage on the context; an adapter that did not is covered by the answer's own.
  const usage = recorded.inputTokens + recorded.outputTokens > 0 ? recorded : (answer?.usage ?? recorded);
  const remaining = ctx.getAttribute(ATTR_REL_BUDGET_REMAINING);
  return {
    requestId: ctx.requestId,
    orgId: ctx.principal.orgId,
    operation: ctx.operation,
    requestModel: req.model,
    stream: req.stream === true,
    answer,
    latencyMs: input.endMs - input.startMs,
    timeToFirstChunkMs: input.firstChunkMs === undefined ? undefined : input.firstChunkMs - input.startMs,
    usage,
    cost: ctx.cost,
    attempts: Math.max(ctx.attempts.length, input.attemptsSeen),
    fallback: ctx.fallbacks.at(-1),
    failure: input.failure,
    degraded: ctx.degraded !== undefined,
    safeDefault: ctx.safeDefault !== undefined,
    budgetRemaining: typeof remaining === 'number' && Number.isFinite(remaining) ? remaining : undefined,
  };
}
