export { FakeProvider } from './fake-provider';
export type { FakeProviderOptions, PlanInput } from './fake-provider';
export { FaultSchema, parseFault, parseFaultHeader } from './faults';
export type { Fault, FaultType } from './faults';
export { ModelConfigSchema, FakeProviderOptionsSchema } from './model-config';
export type { ModelConfig } from './model-config';
export { AttemptLog } from './attempt-log';
export type { Attempt, AttemptOutcome } from './attempt-log';
export { listenFake } from './http-server';
export type { FakeServer } from './http-server';
export { createInProcessHandler, FAKE_PROVIDER_NAME } from './in-process-handler';
export { composeAnswer, countPromptTokens, hashMessages, splitTokens } from './answer';
export type { Answer, AnswerOptions, AnswerVariant } from './answer';
export { generateFromSchema, violateSchema } from './json-from-schema';
export { VOCABULARY } from './vocabulary';
export { WireRequestSchema, parseWireRequest, errorBody, usageBody, completionBody, chunkBody } from './openai-wire';
export type { ParsedWireRequest, WireRequestError, WireError, ResponseMeta } from './openai-wire';
export { SSE_DONE, sseEvent, sseData } from './sse';
export {
  rateLimitResponse,
  serverErrorResponse,
  contextLengthResponse,
  contentFilterResponse,
  invalidRequestResponse,
  prefillRejectedResponse,
  statusResponse,
} from './error-responses';
export type { ErrorResponse } from './error-responses';
export type { Plan, StreamFault } from './plan';
