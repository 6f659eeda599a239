import { type RelFailure, type FailureInfo, failureInfo } from './failure';

const BRAND = Symbol.for('rel.error');

/**
 * The one error class of rel. `failure` is the discriminated union callers switch on.
 * Branded with `Symbol.for`, so `RelError.is` works across duplicate installs of `@rel/core`.
 * @example
 * try { await handler(req, ctx) } catch (e) {
 *   if (RelError.is(e) && e.failure.kind === 'rate_limited') wait(e.failure.retryAfterMs)
 * }
 */
export class RelError extends Error {
  readonly [BRAND] = true;
  override readonly name = 'RelError';
  readonly failure: RelFailure;

  constructor(failure: RelFailure, options?: { message?: string; cause?: unknown }) {
    super(options?.message ?? describeFailure(failure), { cause: options?.cause });
    this.failure = failure;
  }

  /** Retryability, user-visible class and HTTP status of this failure. */
  get info(): FailureInfo {
    return failureInfo(this.failure);
  }

  /** True for a `RelError` from any copy of `@rel/core`. */
  static is(value: unknown): value is RelError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/**
 * Turns anything thrown into a `RelError`: a `RelError` passes through; an abort becomes
 * `cancelled` (or the `RelError` carried as the abort reason, such as a timeout); the rest
 * becomes `internal` with the original as `cause`.
 */
export function toRelError(error: unknown, signal?: AbortSignal): RelError {
  if (RelError.is(error)) return error;
  if (signal?.aborted && RelError.is(signal.reason)) return signal.reason;
  if (isAbortError(error) || signal?.aborted) {
    const reason = signal?.reason instanceof Error ? signal.reason.message : undefined;
    return new RelError({ kind: 'cancelled', ...(reason ? { reason } : {}) }, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RelError({ kind: 'internal', message }, { cause: error });
}

/** True for the DOMException (or lookalike) thrown by an aborted fetch or wait. */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { name?: unknown }).name === 'AbortError' || (error as { name?: unknown }).name === 'TimeoutError')
  );
}

function describeFailure(f: RelFailure): string {
  switch (f.kind) {
    case 'rate_limited':
      return f.retryAfterMs === undefined ? 'rate limited' : `rate limited; retry after ${f.retryAfterMs} ms`;
    case 'timeout':
      return `timed out (${f.phase}${f.limitMs === undefined ? '' : `, limit ${f.limitMs} ms`})`;
    case 'provider_unavailable':
      return `provider unavailable${f.status ? ` (HTTP ${f.status})` : f.code ? ` (${f.code})` : ''}`;
    case 'provider_error':
      return `provider error${f.status ? ` (HTTP ${f.status})` : ''}`;
    case 'invalid_request':
      return f.param ? `invalid request: ${f.param}` : 'invalid request';
    case 'unauthorized':
      return `unauthorized (${f.origin}, HTTP ${f.status})`;
    case 'context_length_exceeded':
      return 'context length exceeded';
    case 'content_filtered':
      return `content filtered${f.reason ? `: ${f.reason}` : ''}`;
    case 'malformed_output':
      return `malformed output: ${f.issues.slice(0, 3).join('; ')}`;
    case 'guardrail_blocked':
      return `${f.stage} blocked by ${f.guardrail} (${f.categories.join(', ')})`;
    case 'budget_exceeded':
      return `budget exceeded for ${f.scope}: ${f.spentUsd} of ${f.limitUsd} USD`;
    case 'quota_exceeded':
      return `quota exceeded for ${f.scope}: ${f.limit}`;
    case 'limit_exceeded':
      return `${f.limit} ${f.value} exceeds the maximum ${f.max}`;
    case 'circuit_open':
      return `circuit open for ${f.target}`;
    case 'cancelled':
      return `cancelled${f.reason ? `: ${f.reason}` : ''}`;
    case 'stream_interrupted':
      return `stream interrupted after ${f.emittedChunks} chunks`;
    case 'dependency_unavailable':
      return `${f.dependency} unavailable`;
    case 'internal':
      return `internal error: ${f.message}`;
  }
}
