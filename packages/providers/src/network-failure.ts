import { RelError, isAbortError, toRelError } from '@rel/core';

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPROTO',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** TLS failures: certificate problems and handshake errors. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/**
 * Maps an error thrown by `fetch` (or by reading its body) to a `RelError`: connection reset,
 * refused, DNS and TLS errors become `provider_unavailable` with the system `code`; an abort
 * becomes `cancelled` (or the `RelError` the signal was aborted with, such as a timeout, when
 * `signal` is given); a `RelError` passes through; anything else is `internal`.
 * @param err what was thrown
 * @param signal the request's signal, to recover a timeout passed as the abort reason
 * @example mapNetworkFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).failure
 * // { kind: 'provider_unavailable', code: 'ECONNREFUSED' }
 */
export function mapNetworkFailure(err: unknown, signal?: AbortSignal): RelError {
  if (RelError.is(err)) return err;
  if (signal?.aborted || isAbortError(err)) return toRelError(err, signal);
  const code = networkCode(err);
  if (code !== undefined) return new RelError({ kind: 'provider_unavailable', code }, { cause: err });
  return toRelError(err);
}

/**
 * The network error code found on `err` or its `cause` chain (undici wraps the system error in
 * `TypeError: fetch failed`); `fetch_failed` for undici's wrapper without a known cause.
 */
export function networkCode(err: unknown): string | undefined {
  let fetchFailed = false;
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const { code, cause, errors, message, name } = e as {
      code?: unknown;
      cause?: unknown;
      errors?: unknown;
      message?: unknown;
      name?: unknown;
    };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || TLS_CODE.test(code))) return code;
    if (name === 'TypeError' && (message === 'fetch failed' || message === 'terminated')) fetchFailed = true;
    if (name === 'SocketError' || name === 'ConnectTimeoutError') return 'UND_ERR_SOCKET';
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return fetchFailed ? 'fetch_failed' : undefined;
}
