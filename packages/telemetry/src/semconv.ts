/**
 * Every attribute, event and metric name this package exports, in one place.
 *
 * The `gen_ai.*`, `server.*`, `error.*` and `user.*` names are copied from the OpenTelemetry GenAI
 * semantic conventions v1.41.1 (the last published version; the conventions moved to their own
 * repository), as the semconv package asks instrumentation libraries to do instead of importing its
 * deprecated `incubating` constants. The `rel.*` names cover what the conventions lack.
 */

// --- GenAI semantic conventions v1.41.1: span attributes ---------------------------------------

/** The operation, such as `chat`. Required. */
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
/** The provider as identified by the client, such as `openai` or `anthropic`. */
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
/** The model the request was made to. */
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
/** The exact model version that answered, as the provider reported it. */
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
/** The provider's completion id. */
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
/** Why the model stopped, one entry per generation. */
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
/** Input tokens, cached ones included. */
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
/** Output tokens. */
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
/** Input tokens served from a provider-managed cache (a subset of the input tokens). */
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
/** Cost in USD. Not in the conventions; set for the tools that read it (same value as `rel.cost.total`). */
export const ATTR_GEN_AI_USAGE_COST = 'gen_ai.usage.cost';
/** The maximum number of tokens the request allows the model to generate. */
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
/** The sampling temperature of the request. */
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
/** Whether the request was made in streaming mode. */
export const ATTR_GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream';
/** Seconds from issuing the request to the first chunk of a streamed answer. */
export const ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
/** Opt-in message content (`captureContent: true`), as JSON. Off by default. */
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
/** Opt-in answer content (`captureContent: true`), as JSON. Off by default. */
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
/** `input` or `output`, on `gen_ai.client.token.usage`. */
export const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
/** The provider endpoint's host name, as given to `attempt`. */
export const ATTR_SERVER_ADDRESS = 'server.address';
/** The provider endpoint's port, as given to `attempt`. */
export const ATTR_SERVER_PORT = 'server.port';
/** Low-cardinality error type: the `RelFailure` kind, or the error's class name. */
export const ATTR_ERROR_TYPE = 'error.type';
/** The caller's user id, hashed (sha256, salted, truncated). */
export const ATTR_USER_ID = 'user.id';

/** `gen_ai.operation.name` for chat completions. */
export const GEN_AI_OPERATION_CHAT = 'chat';
/** `gen_ai.token.type` of input tokens. */
export const GEN_AI_TOKEN_TYPE_INPUT = 'input';
/** `gen_ai.token.type` of output tokens. */
export const GEN_AI_TOKEN_TYPE_OUTPUT = 'output';
/** `error.type` when nothing better is known. */
export const ERROR_TYPE_OTHER = '_OTHER';

// --- rel attributes ----------------------------------------------------------------------------

/** The logical request id (`RequestContext.requestId`); on the request span and the log record. */
export const ATTR_REL_REQUEST_ID = 'rel.request.id';
/** 1-based attempt number of this provider call within the logical request. */
export const ATTR_REL_ATTEMPT_NUMBER = 'rel.attempt.number';
/** Provider calls the logical request made (retries, hedges and fallbacks included). */
export const ATTR_REL_ATTEMPT_COUNT = 'rel.attempt.count';
/** Whether the request fell back to another route at least once. */
export const ATTR_REL_FALLBACK_TRIGGERED = 'rel.fallback.triggered';
/** What triggered the last fallback (a `FallbackReason`). */
export const ATTR_REL_FALLBACK_REASON = 'rel.fallback.reason';
/** The route target the last fallback left, e.g. `openai:gpt-4o`. */
export const ATTR_REL_FALLBACK_FROM = 'rel.fallback.from';
/** The route target the last fallback went to. */
export const ATTR_REL_FALLBACK_TO = 'rel.fallback.to';
/** The user-visible error class (`UserErrorClass`), only when the caller saw a failure. */
export const ATTR_REL_ERROR_CLASS = 'rel.error.class';
/** Cost of the input tokens, USD, as the budget policy recorded it. */
export const ATTR_REL_COST_INPUT = 'rel.cost.input';
/** Cost of the output tokens, USD. */
export const ATTR_REL_COST_OUTPUT = 'rel.cost.output';
/** Total cost of the request, USD (every attempt and re-ask the policy priced). */
export const ATTR_REL_COST_TOTAL = 'rel.cost.total';
/** The idempotency key, hashed. */
export const ATTR_REL_REQUEST_IDEMPOTENCY_KEY = 'rel.request.idempotency_key';
/** The caller's organisation id, in clear (the one id besides the request id that is). */
export const ATTR_REL_ORG_ID = 'rel.org.id';
/** USD left in the tightest budget, when the budget policy set it on the context. */
export const ATTR_REL_BUDGET_REMAINING = 'rel.budget.remaining';
/** Whether the request was served degraded (a non-critical feature answered without the model). */
export const ATTR_REL_DEGRADED = 'rel.degraded';
/** Whether the request was answered with a safe default. */
export const ATTR_REL_SAFE_DEFAULT = 'rel.safe_default';
/** The model name (after routing) that produced the answer; the exact version is `gen_ai.response.model`. */
export const ATTR_REL_ANSWER_MODEL = 'rel.answer.model';
/** Milliseconds from the request's start to its end (the end of the stream when streaming). */
export const ATTR_REL_LATENCY_MS = 'rel.latency_ms';
/**
 * Set when telemetry ended a request before its stream ended: `signal_aborted` (the stream was
 * unread or paused when the request's signal aborted) or `evicted` (over `maxInFlight`).
 */
export const ATTR_REL_ABANDONED = 'rel.abandoned';
/** Milliseconds from the request's start to the first chunk the caller received. */
export const ATTR_REL_TIME_TO_FIRST_CHUNK_MS = 'rel.time_to_first_chunk_ms';

// --- span events ---------------------------------------------------------------------------------

/** A guardrail verdict, on the request span. */
export const EVENT_REL_GUARDRAIL_EVALUATED = 'rel.guardrail.evaluated';
/** The guardrail that ran, on `rel.guardrail.evaluated`. */
export const ATTR_REL_GUARDRAIL_NAME = 'rel.guardrail.name';
/** `input` or `output`. */
export const ATTR_REL_GUARDRAIL_STAGE = 'rel.guardrail.stage';
/** The guardrail's action: `pass`, `flag`, `warn`, `sanitize`, `redact` or `block`. */
export const ATTR_REL_GUARDRAIL_VERDICT = 'rel.guardrail.verdict';
/** How long the guardrail took, in milliseconds. */
export const ATTR_REL_GUARDRAIL_LATENCY_MS = 'rel.guardrail.latency_ms';
/** Category names only (such as `pii.email`), never the matched text. */
export const ATTR_REL_GUARDRAIL_CATEGORIES = 'rel.guardrail.categories';
/** A retry is about to happen, on the request span. */
export const EVENT_REL_RETRY = 'rel.retry';
/** The wait before the retry, in milliseconds. */
export const ATTR_REL_RETRY_DELAY_MS = 'rel.retry.delay_ms';
/** The failure kind that caused a retry. */
export const ATTR_REL_RETRY_REASON = 'rel.retry.reason';
/** A fallback to another route, on the request span. */
export const EVENT_REL_FALLBACK = 'rel.fallback';
/** A timeout fired, on the request span. */
export const EVENT_REL_TIMEOUT = 'rel.timeout';
/** `total`, `first_token` or `idle`. */
export const ATTR_REL_TIMEOUT_PHASE = 'rel.timeout.phase';
/** The limit that passed, in milliseconds. */
export const ATTR_REL_TIMEOUT_LIMIT_MS = 'rel.timeout.limit_ms';
/** A hedged attempt was started, on the request span. */
export const EVENT_REL_HEDGE = 'rel.hedge';
/** How long the first attempt ran before the hedge started, in milliseconds. */
export const ATTR_REL_HEDGE_DELAY_MS = 'rel.hedge.delay_ms';
/** The request was served degraded or with a safe default, on the request span. */
export const EVENT_REL_DEGRADED = 'rel.degraded';
/** The request was answered with a safe default, on the request span. */
export const EVENT_REL_SAFE_DEFAULT = 'rel.safe_default';
/** The product feature a degradation concerns. */
export const ATTR_REL_FEATURE_NAME = 'rel.feature.name';
/** The failure kind behind a degradation. */
export const ATTR_REL_DEGRADATION_REASON = 'rel.degradation.reason';
/** `degraded` or `safe_default`. */
export const ATTR_REL_DEGRADATION_MODE = 'rel.degradation.mode';
/** The route target a circuit breaker guards, on `rel.breaker.state`. */
export const ATTR_REL_BREAKER_TARGET = 'rel.breaker.target';
/** `closed`, `open` or `half_open`, on `rel.breaker.state`. */
export const ATTR_REL_BREAKER_STATE = 'rel.breaker.state';
/** The budget period of an alert, such as `day` or `month`. */
export const ATTR_REL_BUDGET_PERIOD = 'rel.budget.period';
/** The percentage of the budget whose crossing raised the alert. */
export const ATTR_REL_BUDGET_THRESHOLD_PCT = 'rel.budget.threshold_pct';

// --- log record ----------------------------------------------------------------------------------

/** The event name of the one structured log record per request. */
export const LOG_EVENT_REL_REQUEST = 'rel.request';

// --- metrics -------------------------------------------------------------------------------------

/** Histogram, seconds: one point per logical request, to its end (the stream's end when streaming). */
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration';
/** Histogram, `{token}`, by `gen_ai.token.type`. */
export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage';
/** Histogram, seconds: streamed requests only. */
export const METRIC_GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK = 'gen_ai.client.operation.time_to_first_chunk';
/** Counter, USD. */
export const METRIC_REL_COST = 'rel.cost';
/** Counter, by `rel.fallback.reason`, `rel.fallback.from`, `rel.fallback.to`. */
export const METRIC_REL_FALLBACKS = 'rel.fallbacks';
/** Counter, by `rel.retry.reason`. */
export const METRIC_REL_RETRIES = 'rel.retries';
/** Counter of failures the caller saw, by `rel.error.class` and `error.type`. */
export const METRIC_REL_ERRORS = 'rel.errors';
/** Observable gauge: 1 for the current state of each breaker target, 0 for the other states. */
export const METRIC_REL_BREAKER_STATE = 'rel.breaker.state';
/** Counter, by guardrail name, stage and verdict. */
export const METRIC_REL_GUARDRAIL_EVALUATIONS = 'rel.guardrail.evaluations';
/** Counter, by budget period and threshold. */
export const METRIC_REL_BUDGET_ALERTS = 'rel.budget.alerts';
/** Counter of requests served degraded or with a safe default, by feature, mode and reason. */
export const METRIC_REL_DEGRADATIONS = 'rel.degradations';

/** Bucket boundaries (seconds) the conventions advise for `gen_ai.client.operation.duration`. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]);
/** Bucket boundaries the conventions advise for `gen_ai.client.token.usage`. */
export const TOKEN_USAGE_BUCKETS: readonly number[] = Object.freeze([
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]);
/** Bucket boundaries (seconds) for `gen_ai.client.operation.time_to_first_chunk`: the duration ones. */
export const TIME_TO_FIRST_CHUNK_BUCKETS: readonly number[] = DURATION_BUCKETS;
