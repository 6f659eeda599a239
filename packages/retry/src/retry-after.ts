/** Headers as a `Headers` object or a plain record (names in any case). */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | string[] | undefined>>;

const SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;
const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

/**
 * Parses a `Retry-After` value (RFC 9110): delay-seconds or an HTTP-date. Returns milliseconds
 * from `now`, never negative; `undefined` when the value is neither.
 * @param value the raw header value.
 * @param now the current time in epoch milliseconds (from the policy's clock).
 * @example
 * parseRetryAfter('2', clock.now()) // 2000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')) // 2000
 */
export function parseRetryAfter(value: string, now: number): number | undefined {
  const seconds = SECONDS.exec(value);
  if (seconds) return Math.round(Number(seconds[1]) * 1000);
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Parses a rate-limit reset duration as OpenAI sends it in `x-ratelimit-reset-requests` and
 * `x-ratelimit-reset-tokens` (`1s`, `6m0s`, `20ms`, `1h2m3.5s`), or bare seconds. Milliseconds,
 * or `undefined` when the value is not a duration.
 * @example parseResetDuration('6m0s') // 360000
 */
export function parseResetDuration(value: string): number | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const seconds = SECONDS.exec(v);
  if (seconds) return Math.round(Number(seconds[1]) * 1000);
  const d = DURATION.exec(v);
  if (!d) return undefined;
  const [, h, m, s, ms] = d;
  return Math.round(Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0));
}

/**
 * The wait a response's headers ask for, in milliseconds: `retry-after-ms`, else `Retry-After`,
 * else the longest rate-limit reset hint (`x-ratelimit-reset-requests` / `-tokens` as durations,
 * `anthropic-ratelimit-*-reset` as RFC 3339 times). `undefined` when none is present or valid.
 * @param headers a `Headers` object or a plain record.
 * @param now the current time in epoch milliseconds.
 * @example retryAfterFromHeaders(response.headers, clock.now())
 */
export function retryAfterFromHeaders(headers: HeaderSource, now: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && SECONDS.test(ms)) return Math.round(Number(ms));
  const after = header(headers, 'retry-after');
  const parsed = after === undefined ? undefined : parseRetryAfter(after, now);
  if (parsed !== undefined) return parsed;
  let reset: number | undefined;
  for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
    const v = header(headers, name);
    const d = v === undefined ? undefined : parseResetDuration(v);
    if (d !== undefined) reset = Math.max(reset ?? 0, d);
  }
  for (const name of ['anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-reset']) {
    const v = header(headers, name);
    const at = v === undefined ? Number.NaN : Date.parse(v);
    if (!Number.isNaN(at)) reset = Math.max(reset ?? 0, at - now);
  }
  return reset;
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | string[] | undefined>>;
  let value = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) if (key.toLowerCase() === name) value = record[key];
  }
  return Array.isArray(value) ? value[0] : value;
}
