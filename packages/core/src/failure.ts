/**
 * The failure taxonomy: every way an LLM call can fail, as a discriminated union on `kind`.
 * Callers `switch` on `kind` exhaustively; `failureInfo` says for each kind whether it is
 * retryable, which user-visible error class it maps to and which HTTP status a gateway answers.
 */
export type RelFailure =
  /** The provider (or rel's own limiter) asked us to slow down; `retryAfterMs` is the wait it asked for. */
  | { readonly kind: 'rate_limited'; readonly retryAfterMs?: number; readonly status?: number }
  /** A deadline passed. `phase` says which one: whole request, first token, or idle between chunks. */
  | { readonly kind: 'timeout'; readonly phase: TimeoutPhase; readonly limitMs?: number }
  /** The provider could not be reached or answered 5xx/408/409/529. */
  | { readonly kind: 'provider_unavailable'; readonly status?: number; readonly code?: string }
  /** The provider answered something rel cannot use (not JSON, unknown error shape). `body` is cut short. */
  | { readonly kind: 'provider_error'; readonly status?: number; readonly body?: string }
  /** The request itself is wrong; `param` names the bad field when known; `status` overrides 400 (408, 413). */
  | { readonly kind: 'invalid_request'; readonly param?: string; readonly status?: number }
  /** Credentials were refused. `origin` says whose: the caller's key at the gateway, or rel's key at the provider. */
  | { readonly kind: 'unauthorized'; readonly origin: 'client' | 'provider'; readonly status: 401 | 403 }
  /** The prompt does not fit the model's context window. Never retried on the same model. */
  | { readonly kind: 'context_length_exceeded'; readonly maxContextTokens?: number }
  /** The provider's content policy refused the request or the answer. `reason` is the provider's own. */
  | { readonly kind: 'content_filtered'; readonly reason?: string }
  /** Structured output could not be parsed or validated, after any repair and re-ask. */
  | { readonly kind: 'malformed_output'; readonly raw: string; readonly issues: readonly string[] }
  /** A guardrail refused the input or the output. */
  | {
      readonly kind: 'guardrail_blocked';
      readonly stage: 'input' | 'output';
      readonly guardrail: string;
      readonly categories: readonly string[];
    }
  /** A spend ceiling was reached. */
  | {
      readonly kind: 'budget_exceeded';
      readonly scope: string;
      readonly limitUsd: number;
      readonly spentUsd: number;
      readonly retryAfterMs?: number;
    }
  /** One of rel's own request/token/concurrency limits was reached. */
  | {
      readonly kind: 'quota_exceeded';
      readonly scope: string;
      readonly limit: string;
      readonly retryAfterMs?: number;
    }
  /** A hard per-request cap (max tokens, tool-call depth or count) was crossed. */
  | { readonly kind: 'limit_exceeded'; readonly limit: string; readonly value: number; readonly max: number }
  /** The target's circuit breaker is open. */
  | { readonly kind: 'circuit_open'; readonly target: string; readonly retryAfterMs?: number }
  /** The caller cancelled. Never retried. */
  | { readonly kind: 'cancelled'; readonly reason?: string }
  /** A stream ended or failed after it started, without a finish. `emittedChunks` reached the caller. */
  | { readonly kind: 'stream_interrupted'; readonly emittedChunks: number }
  /** A dependency of rel itself (the state store, say) is unreachable and its policy fails closed. */
  | { readonly kind: 'dependency_unavailable'; readonly dependency: string }
  /** A bug or an unexpected exception inside rel or a hook. */
  | { readonly kind: 'internal'; readonly message: string };

export type FailureKind = RelFailure['kind'];
export type TimeoutPhase = 'total' | 'first_token' | 'idle';

/**
 * The user-visible error classes: what a caller (or a gateway's error `type`) sees.
 * - `rate_limited`: slow down and retry after the hint.
 * - `quota_exceeded`: the caller's budget or quota is used up.
 * - `input_rejected`: the input was refused (guardrails).
 * - `output_blocked`: the answer was refused (provider policy or output guardrails).
 * - `timeout`: no answer in time.
 * - `unavailable`: the models are down or unreachable; retry later.
 * - `invalid_request`: the request is wrong; do not retry as is.
 * - `unauthorized`: the caller's credentials are missing, wrong, or lack access.
 * - `cancelled`: the caller went away.
 * - `internal`: rel or the provider misbehaved.
 */
export type UserErrorClass =
  | 'rate_limited'
  | 'quota_exceeded'
  | 'input_rejected'
  | 'output_blocked'
  | 'timeout'
  | 'unavailable'
  | 'invalid_request'
  | 'unauthorized'
  | 'cancelled'
  | 'internal';

export interface FailureInfo {
  /** Whether a retry of the same request to the same target may succeed. */
  readonly retryable: boolean;
  readonly userClass: UserErrorClass;
  /** The HTTP status a gateway answers with. */
  readonly httpStatus: number;
}

/**
 * Classifies a failure. The `switch` is exhaustive: adding a kind without classifying it fails
 * to type-check.
 * @example failureInfo({ kind: 'timeout', phase: 'idle' }).httpStatus // 504
 */
export function failureInfo(failure: RelFailure): FailureInfo {
  switch (failure.kind) {
    case 'rate_limited':
      return { retryable: true, userClass: 'rate_limited', httpStatus: 429 };
    case 'timeout':
      return { retryable: true, userClass: 'timeout', httpStatus: 504 };
    case 'provider_unavailable':
      return { retryable: true, userClass: 'unavailable', httpStatus: 503 };
    case 'provider_error':
      return { retryable: false, userClass: 'internal', httpStatus: 502 };
    case 'invalid_request':
      return { retryable: false, userClass: 'invalid_request', httpStatus: failure.status ?? 400 };
    case 'unauthorized':
      return failure.origin === 'client'
        ? { retryable: false, userClass: 'unauthorized', httpStatus: failure.status }
        : { retryable: false, userClass: 'internal', httpStatus: 502 };
    case 'context_length_exceeded':
      return { retryable: false, userClass: 'invalid_request', httpStatus: 400 };
    case 'content_filtered':
      return { retryable: false, userClass: 'output_blocked', httpStatus: 400 };
    case 'malformed_output':
      return { retryable: false, userClass: 'internal', httpStatus: 502 };
    case 'guardrail_blocked':
      return failure.stage === 'input'
        ? { retryable: false, userClass: 'input_rejected', httpStatus: 400 }
        : { retryable: false, userClass: 'output_blocked', httpStatus: 422 };
    case 'budget_exceeded':
      return { retryable: false, userClass: 'quota_exceeded', httpStatus: 429 };
    case 'quota_exceeded':
      return { retryable: false, userClass: 'rate_limited', httpStatus: 429 };
    case 'limit_exceeded':
      return { retryable: false, userClass: 'invalid_request', httpStatus: 400 };
    case 'circuit_open':
      return { retryable: false, userClass: 'unavailable', httpStatus: 503 };
    case 'cancelled':
      return { retryable: false, userClass: 'cancelled', httpStatus: 499 };
    case 'stream_interrupted':
      return { retryable: false, userClass: 'unavailable', httpStatus: 502 };
    case 'dependency_unavailable':
      return { retryable: false, userClass: 'unavailable', httpStatus: 503 };
    case 'internal':
      return { retryable: false, userClass: 'internal', httpStatus: 500 };
  }
}

/** The wait a failure asks for before trying again, if it names one. */
export function retryAfterOf(failure: RelFailure): number | undefined {
  switch (failure.kind) {
    case 'rate_limited':
    case 'budget_exceeded':
    case 'quota_exceeded':
    case 'circuit_open':
      return failure.retryAfterMs;
    default:
      return undefined;
  }
}
