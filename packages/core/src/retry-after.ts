/** Headers as a `Headers`-like lookup or a plain record (names in any case). */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | string[] | undefined>>;

/** Longest wait reported (one day); a longer ask is capped to it. */
const MAX_WAIT_MS = 86_400_000;

/**
 * Parses a `Retry-After` value: delay-seconds (`"2"`, `"1.5"`) or an HTTP-date, relative to `now`.
 * Pure: the caller passes the current time (from its `Clock`).
 * @param value the raw header value
 * @param now current time in epoch milliseconds
 * @returns milliseconds to wait (0 for a date in the past), or `undefined` when unparseable
 * @example parseRetryAfter('3', 0) // 3000
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return bounded(Number(text) * 1000);
  // An HTTP-date always names a weekday or month; refuse bare numbers Date.parse would accept.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return bounded(Math.max(0, at - now));
}

/**
 * Parses OpenAI's `x-ratelimit-reset-*` durations: `"1s"`, `"6m0s"`, `"20ms"`, `"1h2m3.5s"`, or
 * bare seconds (`"0.5"`).
 * @returns milliseconds, or `undefined` when unparseable
 * @example parseResetDuration('6m0s') // 360000
 */
export function parseResetDuration(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return bounded(Number(text) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) return undefined;
  return bounded(total);
}

/**
 * The wait a failed response asks for, from its headers, in order of precedence: `retry-after-ms`,
 * `Retry-After`, then the rate-limit reset headers of OpenAI (`x-ratelimit-reset-requests|tokens`)
 * and Anthropic (`anthropic-ratelimit-*-reset`, RFC 3339 times). Among reset headers, those whose
 * `remaining` is 0 win (the longest of them); otherwise the earliest reset is taken.
 * @param now current time in epoch milliseconds (for dates)
 * @example retryAfterFromHeaders(new Headers({ 'retry-after': '2' }), 0) // 2000
 */
export function retryAfterFromHeaders(source: HeaderSource, now: number): number | undefined {
  const headers = lookup(source);
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return bounded(Number(ms.trim()));
  const after = parseRetryAfter(headers.get('retry-after'), now);
  if (after !== undefined) return after;

  const exhausted: number[] = [];
  const other: number[] = [];
  const consider = (reset: number | undefined, remaining: string | null) => {
    if (reset === undefined) return;
    (remaining !== null && Number(remaining.trim()) === 0 ? exhausted : other).push(reset);
  };
  for (const kind of ['requests', 'tokens']) {
    consider(
      parseResetDuration(headers.get(`x-ratelimit-reset-${kind}`)),
      headers.get(`x-ratelimit-remaining-${kind}`),
    );
  }
  for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    consider(
      parseTimestamp(headers.get(`anthropic-ratelimit-${kind}-reset`), now),
      headers.get(`anthropic-ratelimit-${kind}-remaining`),
    );
  }
  if (exhausted.length > 0) return Math.max(...exhausted);
  if (other.length > 0) return Math.min(...other);
  return undefined;
}

function parseTimestamp(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const at = Date.parse(value.trim());
  return Number.isNaN(at) ? undefined : bounded(Math.max(0, at - now));
}

function bounded(ms: number): number | undefined {
  return Number.isFinite(ms) && ms >= 0 ? Math.round(Math.min(ms, MAX_WAIT_MS)) : undefined;
}

function lookup(source: HeaderSource): { get(name: string): string | null } {
  if (typeof (source as { get?: unknown }).get === 'function') return source as { get(name: string): string | null };
  const record = source as Readonly<Record<string, string | string[] | undefined>>;
  const lower = new Map<string, string>();
  for (const [key, value] of Object.entries(record)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) lower.set(key.toLowerCase(), first);
  }
  return { get: (name) => lower.get(name) ?? null };
}
