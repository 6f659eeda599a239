import { RelError, type RelFailure, isAbortError } from '@rel/core';

/** Socket and DNS error codes that mean "try again", as Node and undici report them. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The `RelFailure` an error stands for. A `RelError` gives its own; an abort is `cancelled`; an
 * error with an HTTP `status` (or `statusCode`) is classified by it (429 `rate_limited`, 408, 409
 * and 5xx `provider_unavailable`, other 4xx `invalid_request`); a transient socket error code
 * (`ECONNRESET`, ...) anywhere in the `cause` chain is `provider_unavailable`; the rest is `internal`.
 * @example failureOf(Object.assign(new Error('x'), { status: 503 })) // { kind: 'provider_unavailable', status: 503 }
 */
export function failureOf(error: unknown): RelFailure {
  if (RelError.is(error)) return error.failure;
  if (isAbortError(error)) return { kind: 'cancelled' };
  const status = statusOf(error);
  if (status !== undefined) {
    if (status === 429) return { kind: 'rate_limited', status };
    if (status === 408 || status === 409 || status >= 500) return { kind: 'provider_unavailable', status };
    if (status >= 400) return { kind: 'invalid_request', status };
  }
  const code = transientCode(error);
  if (code) return { kind: 'provider_unavailable', code };
  return { kind: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/**
 * The default retry decision for a failure. Retried: `rate_limited`, `provider_unavailable`,
 * `timeout`, and a `provider_error` or `invalid_request` whose status is 408, 409, 429 or 5xx.
 * Never retried: `cancelled` (an abort), any other 4xx, `context_length_exceeded`,
 * `content_filtered`, and every other kind.
 * @example isRetryable({ kind: 'rate_limited', retryAfterMs: 2000 }) // true
 */
export function isRetryable(failure: RelFailure): boolean {
  switch (failure.kind) {
    case 'rate_limited':
    case 'provider_unavailable':
    case 'timeout':
      return true;
    case 'provider_error':
    case 'invalid_request':
      return failure.status !== undefined && retryableStatus(failure.status);
    default:
      return false;
  }
}

function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { status?: unknown; statusCode?: unknown };
  const s = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  return s !== undefined && Number.isInteger(s) && s >= 100 && s < 600 ? s : undefined;
}

function transientCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
