import {
  type Clock,
  type HeaderSource,
  RelError,
  type RelFailure,
  retryAfterFromHeaders,
  systemClock,
} from '@rel/core';

/** Longest raw body text kept in a `provider_error` (and in error messages). */
export const MAX_ERROR_BODY_CHARS = 2000;

/** The error fields rel reads, from whichever shape the server used. */
export interface ProviderErrorBody {
  readonly type?: string;
  readonly code?: string;
  readonly message?: string;
  readonly param?: string;
}

const CONTENT_POLICY_CODES = new Set([
  'content_policy_violation',
  'content_filter',
  'contentfilter',
  'responsibleaipolicyviolation',
  'content_policy',
  'moderation_blocked',
  'safety',
]);

const CONTEXT_WORDING =
  /context[ _-]length|context[ _-]window|maximum context|prompt is too long|exceed(s|ed)? (the )?context limit|too many (input )?tokens|input is too long/i;

/**
 * Maps a failed HTTP response to a `RelError` of the core taxonomy. It understands OpenAI's
 * (`{ error: { type, code, param, message } }`), Anthropic's (`{ type: 'error', error: { type,
 * message } }`) and the looser shapes of vLLM, Ollama, OpenRouter and Azure.
 *
 * - 401/403: `unauthorized` (origin `provider`, never retried)
 * - 429: `rate_limited` with `retryAfterMs` from the headers (`insufficient_quota` is a billing
 *   problem no wait cures: `provider_error`)
 * - 408, 409, 5xx, 529: `provider_unavailable` (retryable) with the provider's error code
 * - other statuses with a body that is not JSON: `provider_error` keeping the raw text, cut short
 * - context-window errors in either provider's wording: `context_length_exceeded`
 * - content-policy codes: `content_filtered`
 * - any other 4xx: `invalid_request` with the offending `param` when named
 *
 * @param status HTTP status of the response
 * @param headers response headers (for `Retry-After` and the rate-limit reset headers)
 * @param bodyText the response body as text (may be empty or not JSON)
 * @param provider provider name, used in the message
 * @param clock the clock HTTP-dates are measured against
 * @example
 * const err = mapHttpFailure(429, new Headers({ 'retry-after': '2' }), '{}', 'openai');
 * err.failure // { kind: 'rate_limited', retryAfterMs: 2000, status: 429 }
 */
export function mapHttpFailure(
  status: number,
  headers: HeaderSource,
  bodyText: string,
  provider: string,
  clock: Clock = systemClock,
): RelError {
  const body = parseErrorBody(bodyText);
  const cut = cutBody(bodyText);
  const cause = new Error(`${provider} answered HTTP ${status}: ${body?.message ?? cut}`);
  const fail = (failure: RelFailure) =>
    new RelError(failure, { message: `${provider}: ${describe(failure, status, body, cut)}`, cause });

  if (status === 401 || status === 403) return fail({ kind: 'unauthorized', origin: 'provider', status });
  if (status === 429) {
    if (body?.code === 'insufficient_quota' || body?.type === 'insufficient_quota') {
      return fail({ kind: 'provider_error', status, body: cut });
    }
    const retryAfterMs = retryAfterFromHeaders(headers, clock.now());
    return fail({ kind: 'rate_limited', status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
  if (status === 408 || status === 409 || status === 529 || (status >= 500 && status <= 599)) {
    const code = body?.code ?? body?.type;
    return fail({ kind: 'provider_unavailable', status, ...(code ? { code } : {}) });
  }
  if (body === undefined) return fail({ kind: 'provider_error', status, body: cut });
  if (status >= 400 && status <= 499) {
    if (isContentPolicy(body)) {
      const reason = body.code ?? body.type ?? body.message;
      return fail({ kind: 'content_filtered', ...(reason ? { reason } : {}) });
    }
    if (isContextLength(body)) {
      const max = maxContextTokens(body.message ?? '');
      return fail({ kind: 'context_length_exceeded', ...(max === undefined ? {} : { maxContextTokens: max }) });
    }
    return fail({ kind: 'invalid_request', status, ...(body.param ? { param: body.param } : {}) });
  }
  return fail({ kind: 'provider_error', status, body: cut });
}

/**
 * Reads the error fields from an error body of any known shape; `undefined` when the body is not
 * JSON (or not an object).
 * @example parseErrorBody('{"error":{"code":"context_length_exceeded"}}')?.code // 'context_length_exceeded'
 */
export function parseErrorBody(bodyText: string): ProviderErrorBody | undefined {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  if (!isRecord(json)) return undefined;
  const inner = json.error;
  if (typeof inner === 'string') return { message: inner, ...fieldsOf(json, ['type', 'code', 'param']) };
  const err = isRecord(inner) ? inner : json;
  const fields = fieldsOf(err, ['type', 'code', 'message', 'param']);
  // Azure puts the precise policy code under innererror.
  const innerCode = isRecord(err.innererror) ? err.innererror.code : undefined;
  if (typeof innerCode === 'string' && isContentPolicy({ code: innerCode })) return { ...fields, code: innerCode };
  return fields;
}

/** Cuts raw text to `MAX_ERROR_BODY_CHARS`, marking the cut. */
export function cutBody(text: string): string {
  return text.length <= MAX_ERROR_BODY_CHARS ? text : `${text.slice(0, MAX_ERROR_BODY_CHARS)}…[cut]`;
}

function isContentPolicy(body: ProviderErrorBody): boolean {
  return [body.code, body.type].some((v) => v !== undefined && CONTENT_POLICY_CODES.has(v.toLowerCase()));
}

function isContextLength(body: ProviderErrorBody): boolean {
  if (body.code === 'context_length_exceeded' || body.type === 'context_length_exceeded') return true;
  return body.message !== undefined && CONTEXT_WORDING.test(body.message);
}

/** "maximum context length is 8192 tokens" (OpenAI, vLLM) or "208310 tokens > 200000 maximum" (Anthropic). */
function maxContextTokens(message: string): number | undefined {
  const m =
    /maximum context length is (\d+)/i.exec(message) ??
    /> ?(\d+)/.exec(message) ??
    /context (?:window|limit) (?:of|is) (\d+)/i.exec(message);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function describe(f: RelFailure, status: number, body: ProviderErrorBody | undefined, cut: string): string {
  const detail = body?.message ?? (cut.length > 200 ? `${cut.slice(0, 200)}…` : cut);
  return `${f.kind} (HTTP ${status})${detail ? `: ${detail}` : ''}`;
}

function fieldsOf(obj: Record<string, unknown>, keys: readonly (keyof ProviderErrorBody)[]): ProviderErrorBody {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
    else if (typeof v === 'number') out[k] = String(v);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
