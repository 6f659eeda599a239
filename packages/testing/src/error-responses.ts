import { type RelFailure, parseRetryAfter } from '@rel/core';
import { errorBody } from './openai-wire';

/** One HTTP error answer and the failure an adapter would raise for it. */
export interface ErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly failure: RelFailure;
}

/**
 * A 429 as OpenAI sends it, with `Retry-After` when `retryAfterSeconds` is given.
 * @example rateLimitResponse('gpt-4o', 2).headers['retry-after'] // '2'
 */
export function rateLimitResponse(model: string, retryAfterSeconds?: number): ErrorResponse {
  const wait = retryAfterSeconds === undefined ? '' : ` Please try again in ${retryAfterSeconds}s.`;
  return {
    status: 429,
    headers: {
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '0',
      ...(retryAfterSeconds === undefined
        ? {}
        : { 'retry-after': String(retryAfterSeconds), 'x-ratelimit-reset-requests': `${retryAfterSeconds}s` }),
    },
    body: errorBody(
      `Rate limit reached for ${model} in organization org-fake on requests per min (RPM): Limit 500, Used 500, Requested 1.${wait} Visit https://platform.openai.com/account/rate-limits to learn more.`,
      'requests',
      null,
      'rate_limit_exceeded',
    ),
    failure: {
      kind: 'rate_limited',
      status: 429,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterMs: retryAfterSeconds * 1000 }),
    },
  };
}

/**
 * A 5xx with OpenAI's `server_error` body.
 * @example serverErrorResponse(503).failure // { kind: 'provider_unavailable', status: 503 }
 */
export function serverErrorResponse(status: number): ErrorResponse {
  const message =
    status === 503
      ? 'The server is overloaded or not ready yet.'
      : 'The server had an error while processing your request. Sorry about that!';
  return {
    status,
    headers: {},
    body: errorBody(message, 'server_error', null, 'server_error'),
    failure: { kind: 'provider_unavailable', status },
  };
}

/**
 * A 400 `context_length_exceeded` in OpenAI's wording.
 * @example contextLengthResponse(8192, 9000).status // 400
 */
export function contextLengthResponse(maxTokens: number, promptTokens: number): ErrorResponse {
  return {
    status: 400,
    headers: {},
    body: errorBody(
      `This model's maximum context length is ${maxTokens} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`,
      'invalid_request_error',
      'messages',
      'context_length_exceeded',
    ),
    failure: { kind: 'context_length_exceeded', maxContextTokens: maxTokens },
  };
}

/** A 400 `content_policy_violation` in OpenAI's wording. */
export function contentFilterResponse(): ErrorResponse {
  return {
    status: 400,
    headers: {},
    body: errorBody(
      'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.',
      'invalid_request_error',
      null,
      'content_policy_violation',
    ),
    failure: { kind: 'content_filtered', reason: 'content_policy_violation' },
  };
}

/** A 400 `invalid_request_error` naming `param`. */
export function invalidRequestResponse(
  message: string,
  param: string | null,
  code: string | null = null,
): ErrorResponse {
  return {
    status: 400,
    headers: {},
    body: errorBody(message, 'invalid_request_error', param, code),
    failure: { kind: 'invalid_request', status: 400, ...(param ? { param } : {}) },
  };
}

/** The 400 a model that does not support assistant prefill answers. */
export function prefillRejectedResponse(): ErrorResponse {
  return invalidRequestResponse(
    'This model does not support assistant message prefill. The conversation must end with a user message.',
    'messages',
    'invalid_value',
  );
}

/**
 * An arbitrary status with an optional raw `Retry-After`; the failure is what an adapter would
 * make of that status.
 * @param now clock milliseconds, to turn an HTTP-date `Retry-After` into a wait.
 */
export function statusResponse(
  fault: { status: number; retryAfter?: string; headers?: Record<string, string>; body?: unknown },
  now: number,
): ErrorResponse {
  const headers: Record<string, string> = { ...lowerKeys(fault.headers ?? {}) };
  if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
  const body =
    fault.body !== undefined
      ? fault.body
      : errorBody(
          `Fake status ${fault.status}`,
          fault.status >= 500 ? 'server_error' : 'invalid_request_error',
          null,
          null,
        );
  return { status: fault.status, headers, body, failure: failureForStatus(fault.status, headers['retry-after'], now) };
}

function failureForStatus(status: number, retryAfter: string | undefined, now: number): RelFailure {
  if (status === 429) {
    const ms = parseRetryAfter(retryAfter, now);
    return { kind: 'rate_limited', status, ...(ms === undefined ? {} : { retryAfterMs: ms }) };
  }
  if (status >= 500 || status === 408 || status === 409) return { kind: 'provider_unavailable', status };
  if (status === 401 || status === 403) return { kind: 'unauthorized', origin: 'provider', status };
  if (status === 400 || status === 404 || status === 422) return { kind: 'invalid_request', status };
  return { kind: 'provider_error', status };
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
