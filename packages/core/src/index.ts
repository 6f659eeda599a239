export {
  ToolDefinitionSchema,
  ToolCallSchema,
  SystemMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
  ChatMessageSchema,
  ResponseFormatSchema,
  ToolChoiceSchema,
  LlmRequestSchema,
} from './request';
export type {
  ToolDefinition,
  ToolCall,
  ChatMessage,
  SystemMessage,
  UserMessage,
  AssistantMessage,
  ToolMessage,
  ResponseFormat,
  ToolChoice,
  LlmRequest,
} from './request';
export { UsageSchema, FinishReasonSchema, CompletionSchema, addUsage, zeroUsage } from './response';
export type { Usage, FinishReason, Completion, StreamChunk, StreamingCompletion, LlmResponse } from './response';
export { failureInfo, retryAfterOf } from './failure';
export type { RelFailure, FailureKind, TimeoutPhase, UserErrorClass, FailureInfo } from './failure';
export { RelError, toRelError, isAbortError } from './rel-error';
export { CallGate } from './call-gate';
export { abortableOf, isAbortable } from './abortable';
export { AbortSource } from './abort-source';
export type { Abortable } from './abortable';
export { systemClock, abortReason, setTimer, stopwatch } from './clock';
export type { Clock } from './clock';
export { systemRandom, seededRandom } from './random';
export type { RandomSource } from './random';
export { EventHub } from './events';
export type {
  RelEvents,
  RelEventName,
  Listener,
  FallbackReason,
  BreakerState,
  GuardrailStage,
  GuardrailAction,
} from './events';
export { RequestContext, newId } from './context';
export type {
  Principal,
  Feature,
  AttemptRecord,
  FallbackRecord,
  GuardrailVerdict,
  Cost,
  RequestContextInit,
  DegradeReason,
} from './context';
export { compose, mapStream } from './middleware';
export type { Handler, Middleware } from './middleware';
export { WINDOW_BUCKETS, SETTLED_MEMORY_MS, assertDistinctKeys, bucketWidth } from './store';
export type { StateStore, LimitOp, LimitResult, AcquireResult, SettleEntry, SettleOptions } from './store';
export { MemoryStore } from './memory-store';
export type { MemoryStoreOptions } from './memory-store';
export { collectStream } from './collect-stream';
export { parseRetryAfter, parseResetDuration, retryAfterFromHeaders } from './retry-after';
export type { HeaderSource } from './retry-after';
export { completionChunks, completionAsStream } from './completion-stream';
