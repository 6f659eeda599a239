import { type Clock, RelError } from '@rel/core';
import { cutBody, mapHttpFailure } from './http-failure';
import { mapNetworkFailure } from './network-failure';

/** The `fetch` an adapter calls; the runtime's own by default. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Init fields that let undici skip its per-request copy of the request (see `runtimeFetch`). */
const LEAN_INIT = { window: null, redirect: 'error' } as const;

/**
 * The runtime's own `fetch` (looked up at each call), asked to send the request as given: with
 * `window: null` and `redirect: 'error'`, undici's fetch skips the clone of every request (and
 * the `tee` of its body) that it otherwise makes in case a redirect or an authentication retry
 * needs to resend it: about 15-20% less CPU per call. An LLM API does not redirect; when a server
 * does anyway, the request is sent again the default way, which follows the redirect as before.
 * The default `fetch` of the adapters; a `fetch` passed in options gets the init unchanged.
 */
export const runtimeFetch: FetchFunction = async (input, init) => {
  try {
    return await globalThis.fetch(input, { ...init, ...LEAN_INIT });
  } catch (err) {
    if (init.signal?.aborted || !isUnexpectedRedirect(err)) throw err;
    return globalThis.fetch(input, init);
  }
};

/** undici's network error for a 3xx answer under `redirect: 'error'`. */
function isUnexpectedRedirect(err: unknown): boolean {
  const cause = err instanceof TypeError ? (err as { cause?: unknown }).cause : undefined;
  return cause instanceof Error && cause.message === 'unexpected redirect';
}

/** Largest error body read before the connection is let go. */
const MAX_ERROR_READ_BYTES = 64 * 1024;

/** Default largest non-streamed answer read (`maxResponseBytes`). */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** One POST to make: where, what, and how failures are attributed. */
export interface PostInit {
  readonly url: string;
  readonly headers: Headers;
  readonly body: unknown;
  readonly signal: AbortSignal;
  readonly fetch: FetchFunction;
  readonly provider: string;
  readonly clock: Clock;
}

/**
 * POSTs JSON and returns the response once its status is 2xx. One call, no retry: retries belong
 * to rel's retry policy.
 * @throws RelError from `mapNetworkFailure` (no answer) or `mapHttpFailure` (non-2xx status)
 */
export async function postJson(init: PostInit): Promise<Response> {
  let res: Response;
  const headers = new Headers(init.headers);
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  try {
    res = await init.fetch(init.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (err) {
    throw mapNetworkFailure(err, init.signal);
  }
  if (res.ok) return res;
  const text = await readText(res, init.signal, MAX_ERROR_READ_BYTES).catch((err: unknown) => {
    if (init.signal.aborted) throw mapNetworkFailure(err, init.signal);
    return '';
  });
  throw mapHttpFailure(res.status, res.headers, text, init.provider, init.clock);
}

/**
 * Reads a response body as text, up to `maxBytes` (the rest is cancelled).
 * @throws RelError: the abort reason when `signal` aborted, `provider_unavailable` on a network error
 */
export async function readText(
  res: Response,
  signal: AbortSignal,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<string> {
  return (await readLimited(res, signal, maxBytes)).text;
}

/** Reads up to `maxBytes`; `cut` says the body went on past them. */
async function readLimited(
  res: Response,
  signal: AbortSignal,
  maxBytes: number,
): Promise<{ readonly text: string; readonly cut: boolean }> {
  if (!res.body) return { text: '', cut: false };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let read = 0;
  let done = false;
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (read < maxBytes) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        break;
      }
      read += next.value.byteLength;
      text += decoder.decode(next.value, { stream: true });
    }
    if (signal.aborted) throw signal.reason;
    return { text: text + decoder.decode(), cut: !done };
  } catch (err) {
    throw mapNetworkFailure(err, signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * Reads a complete (2xx, non-streamed) answer as text, failing instead of cutting it when it is
 * larger than `maxBytes`, so a server that never stops sending cannot exhaust memory.
 * @throws RelError `provider_error` over the limit; as `readText` otherwise
 */
export async function readAnswer(res: Response, signal: AbortSignal, maxBytes: number): Promise<string> {
  const { text, cut } = await readLimited(res, signal, maxBytes + 1);
  if (!cut) return text;
  throw new RelError(
    { kind: 'provider_error', status: res.status, body: `response body larger than ${maxBytes} bytes` },
    { cause: new Error('response too large') },
  );
}

/**
 * Parses a 2xx body as JSON.
 * @throws RelError `provider_error` keeping the (cut) raw text when it is not JSON
 */
export function parseJsonBody(text: string, status: number): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new RelError({ kind: 'provider_error', status, body: cutBody(text) }, { cause });
  }
}
