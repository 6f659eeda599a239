import { type Abortable, type Clock, RelError, abortableOf, isAbortable } from '@rel/core';
import { cutBody, mapHttpFailure } from './http-failure';
import { mapNetworkFailure } from './network-failure';

/** The `fetch` an adapter calls; the runtime's own by default. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** One read of a `BodyReader`. */
export type BodyReadResult = { done: false; value: Uint8Array } | { done: true; value?: Uint8Array | undefined };

/** Reads an answer's body: a web stream's default reader, or a lighter one of the same shape. */
export interface BodyReader {
  read(): Promise<BodyReadResult>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

/** An HTTP answer as the adapters read it: a `Response`, or what a lower-level transport gives. */
export interface HttpAnswer {
  readonly status: number;
  readonly ok: boolean;
  /** `get` joins repeated headers with `, `, as `Headers.get` does. */
  readonly headers: { get(name: string): string | null };
  /** False when the answer has no body (a `Response` whose `body` is null). */
  readonly hasBody: boolean;
  /** The body's reader (null without a body); called at most once. */
  reader(): BodyReader | null;
}

/** One request of a lower-level transport: headers as a plain record, the body as a string. */
export interface RawRequest {
  readonly method: 'POST';
  /** Lower-case names; the transport's own (`content-length`) are added to this record. */
  readonly headers: Record<string, string>;
  readonly body: string;
  /** An `Abortable` (a request context) is listened to through `onAbort`: no signal is made. */
  readonly signal: AbortSignal | Abortable;
}

/** The signal of `abort` (made, for an `Abortable`, if it was not yet). */
export function signalOf(abort: AbortSignal | Abortable): AbortSignal {
  return isAbortable(abort) ? abort.signal : abort;
}

/** `abort`'s signal once aborted, else undefined: what failure mapping needs, without making a signal. */
function abortedSignal(abort: AbortSignal | Abortable): AbortSignal | undefined {
  return abort.aborted ? signalOf(abort) : undefined;
}

/** A transport the adapters may call instead of a `FetchFunction`'s `Response` (see `RAW_TRANSPORT`). */
export type RawTransport = (url: string, init: RawRequest) => Promise<HttpAnswer>;

/**
 * Where a `FetchFunction` made by rel (`nodeHttpFetch`) carries its lower-level transport: the
 * adapters call that one and skip building a `Response` and its `Headers` and web stream. A
 * `fetch` without it (the runtime's, a user's own) is called as a `FetchFunction`, unchanged.
 */
export const RAW_TRANSPORT: unique symbol = Symbol('rel.rawTransport');

/** The `HttpAnswer` of a `Response`. */
export function answerOf(res: Response): HttpAnswer {
  return {
    status: res.status,
    ok: res.ok,
    headers: res.headers,
    hasBody: res.body !== null,
    reader: () => res.body?.getReader() ?? null,
  };
}

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
  /** Names in lower case; made for this call (`content-type` is added to it when absent). */
  readonly headers: Record<string, string>;
  readonly body: unknown;
  /** A `fetch` gets the signal (made for an `Abortable`); a raw transport gets it as given. */
  readonly signal: AbortSignal | Abortable;
  readonly fetch: FetchFunction;
  readonly provider: string;
  readonly clock: Clock;
}

/**
 * POSTs JSON and returns the response once its status is 2xx. One call, no retry: retries belong
 * to rel's retry policy.
 * @throws RelError from `mapNetworkFailure` (no answer) or `mapHttpFailure` (non-2xx status)
 */
export async function postJson(init: PostInit): Promise<HttpAnswer> {
  let res: HttpAnswer;
  const raw = (init.fetch as { [RAW_TRANSPORT]?: RawTransport })[RAW_TRANSPORT];
  try {
    if (raw) {
      const { headers } = init;
      headers['content-type'] ??= 'application/json';
      res = await raw(init.url, { method: 'POST', headers, body: JSON.stringify(init.body), signal: init.signal });
    } else {
      const headers = new Headers(init.headers);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      res = answerOf(
        await init.fetch(init.url, {
          method: 'POST',
          headers,
          body: JSON.stringify(init.body),
          signal: signalOf(init.signal),
        }),
      );
    }
  } catch (err) {
    throw mapNetworkFailure(err, abortedSignal(init.signal));
  }
  if (res.ok) return res;
  const text = await readText(res, init.signal, MAX_ERROR_READ_BYTES).catch((err: unknown) => {
    if (init.signal.aborted) throw mapNetworkFailure(err, abortedSignal(init.signal));
    return '';
  });
  throw mapHttpFailure(res.status, res.headers, text, init.provider, init.clock);
}

/**
 * Reads a response body as text, up to `maxBytes` (the rest is cancelled).
 * @throws RelError: the abort reason when `signal` aborted, `provider_unavailable` on a network error
 */
export async function readText(
  res: HttpAnswer,
  signal: AbortSignal | Abortable,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<string> {
  return (await readLimited(res, signal, maxBytes)).text;
}

/** Reads up to `maxBytes`; `cut` says the body went on past them. */
async function readLimited(
  res: HttpAnswer,
  signal: AbortSignal | Abortable,
  maxBytes: number,
): Promise<{ readonly text: string; readonly cut: boolean }> {
  const reader = res.reader();
  if (!reader) return { text: '', cut: false };
  const chunks: Uint8Array[] = [];
  let read = 0;
  let done = false;
  const abort = isAbortable(signal) ? signal : abortableOf(signal);
  const unlisten = abort.aborted
    ? undefined
    : abort.onAbort(() => void reader.cancel(signalOf(signal).reason).catch(() => {}));
  try {
    while (read < maxBytes) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        break;
      }
      read += next.value.byteLength;
      chunks.push(next.value);
    }
    if (signal.aborted) throw signalOf(signal).reason;
    return { text: utf8(chunks, read), cut: !done };
  } catch (err) {
    throw mapNetworkFailure(err, abortedSignal(signal));
  } finally {
    unlisten?.();
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * The text of `chunks` (`bytes` in all), decoded as `TextDecoder` does by default: invalid
 * sequences replaced, a leading byte order mark dropped. One decode of the whole body; a body of
 * one chunk is decoded in place.
 */
function utf8(chunks: readonly Uint8Array[], bytes: number): string {
  const [only] = chunks;
  const all =
    chunks.length === 1 && only
      ? Buffer.from(only.buffer, only.byteOffset, only.byteLength)
      : Buffer.concat(chunks, bytes);
  const text = all.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Reads a complete (2xx, non-streamed) answer as text, failing instead of cutting it when it is
 * larger than `maxBytes`, so a server that never stops sending cannot exhaust memory.
 * @throws RelError `provider_error` over the limit; as `readText` otherwise
 */
export async function readAnswer(res: HttpAnswer, signal: AbortSignal | Abortable, maxBytes: number): Promise<string> {
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
