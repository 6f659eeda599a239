import {
  type Agent,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
  request as httpRequest,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import { type Abortable, isAbortable } from '@rel/core';
import { type FetchFunction, RAW_TRANSPORT, type RawTransport } from './http-transport';
import { NULL_BODY_STATUSES, incomingAnswer } from './incoming-answer';

/** Options of `nodeHttpFetch`. */
export interface NodeHttpFetchOptions {
  /** Agent for `http:` URLs. Default: Node's global agent (keep-alive on Node 20). */
  httpAgent?: Agent;
  /** Agent for `https:` URLs (an `https.Agent`). Default: Node's global HTTPS agent. */
  httpsAgent?: Agent;
}

/**
 * A `FetchFunction` on `node:http` / `node:https` instead of the runtime's `fetch` (undici): the
 * adapters' `fetch` option for a process that makes many calls, such as a gateway. Measured on
 * loopback with a small JSON answer, a call costs about 200 µs of CPU against about 330 µs through
 * `fetch` (bench/RESULTS.md); the answer is the same `Response` the adapters read. Given to an
 * adapter, it is not even called as a `FetchFunction`: the adapter reads the `node:http` answer
 * directly, with the same outcome, and skips building the `Response`, its `Headers` and its web
 * stream (about 60 µs less per call).
 *
 * What it does not do, because an LLM API needs none of it: follow redirects (a 3xx is returned as
 * the response, which the adapters report as a failure), send a body other than a string, or
 * read proxy settings (neither does Node's `fetch`). Aborting the init's `signal` destroys the
 * request, or the response body while it is read, with the signal's reason kept for the adapters.
 * @example
 * const openai = openaiCompatible({ baseURL, apiKey, fetch: nodeHttpFetch() });
 */
export function nodeHttpFetch(options: NodeHttpFetchOptions = {}): FetchFunction {
  const targets = new Map<string, Target>();
  const fetch: FetchFunction = (input, init) =>
    send(options, targets, input, init.method ?? 'GET', init.body ?? undefined, init.signal ?? undefined, () => {
      const headers: Record<string, string> = {};
      // The adapters pass a Headers already; anything else is read through one.
      const given = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
      given.forEach((value, key) => {
        headers[key] = value;
      });
      return headers;
    }).then(toResponse);
  const raw: RawTransport = (url, init) => {
    let release: (() => void) | undefined;
    const follow = (unlisten: () => void) => {
      release = unlisten;
    };
    return send(options, targets, url, init.method, init.body, init.signal, () => init.headers, follow).then((res) =>
      incomingAnswer(res, release),
    );
  };
  Object.defineProperty(fetch, RAW_TRANSPORT, { value: raw });
  return fetch;
}

/** Where a URL sends to, as `node:http` takes it; kept per `nodeHttpFetch` (a few base URLs). */
interface Target {
  readonly https: boolean;
  readonly hostname: RequestOptions['hostname'];
  readonly port: RequestOptions['port'];
  readonly path: RequestOptions['path'];
  readonly auth: RequestOptions['auth'];
}

/** Most URLs a `nodeHttpFetch` keeps parsed; past them the cache starts over. */
const MAX_TARGETS = 256;

/** `input` parsed once for `targets`: `new URL` and its conversion cost more than the rest of a call's setup. */
function targetOf(targets: Map<string, Target>, input: string): Target {
  let target = targets.get(input);
  if (target === undefined) {
    const url = new URL(input);
    const https = url.protocol === 'https:';
    if (!https && url.protocol !== 'http:') throw new TypeError(`nodeHttpFetch: unsupported protocol ${url.protocol}`);
    // Only the fields a request needs, in a plain object: `urlToHttpOptions` answers a
    // null-prototype object in dictionary mode, and copying that for every call took V8's slow
    // path (about 6 µs a call, measured with perf).
    const { hostname, port, path, auth } = urlToHttpOptions(url);
    target = { https, hostname, port, path, auth };
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(input, target);
  }
  return target;
}

/** Sends one request; resolves with the answer once its head arrived. */
function send(
  options: NodeHttpFetchOptions,
  targets: Map<string, Target>,
  input: string,
  method: string,
  body: unknown,
  signal: AbortSignal | Abortable | undefined,
  headersOf: () => Record<string, string>,
  follow?: (unlisten: () => void) => void,
): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const target = targetOf(targets, input);
    if (body !== undefined && body !== null && typeof body !== 'string') {
      reject(new TypeError('nodeHttpFetch: the body must be a string'));
      return;
    }
    const headers = headersOf();
    if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
    const plain = signal !== undefined && !isAbortable(signal) ? signal : undefined;
    // One literal, every field always present, so every call makes the same hidden class; an
    // undefined `agent`, `signal`, `port` or `auth` is what `node:http` takes as not given.
    const init: RequestOptions = {
      protocol: target.https ? 'https:' : 'http:',
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      auth: target.auth,
      method,
      headers,
      agent: target.https ? options.httpsAgent : options.httpAgent,
      signal: plain,
    };
    const req = (target.https ? httpsRequest : httpRequest)(init, resolve);
    req.on('error', reject);
    if (signal !== undefined && plain === undefined) follow?.(followAbort(req, signal as Abortable));
    req.end(body as string | undefined);
  });
}

/**
 * What `node:http` does with a `signal` option, for an `Abortable`: its abort destroys the request
 * (and its response) with an `AbortError` whose cause is the reason; the listener goes when the
 * request closes (its answer ended or was destroyed), or earlier through the function returned,
 * which a reader calls once it holds the whole answer. No `AbortSignal` is made for it.
 */
function followAbort(req: ClientRequest, abort: Abortable): () => void {
  const destroy = () => {
    req.destroy(
      Object.assign(new Error('The operation was aborted', { cause: abort.signal.reason }), {
        name: 'AbortError',
        code: 'ABORT_ERR',
      }),
    );
  };
  if (abort.aborted) {
    destroy();
    return noop;
  }
  const unlisten = abort.onAbort(destroy);
  req.once('close', unlisten);
  return unlisten;
}

const noop = (): void => {};

/** The `Response` of an incoming answer; its body streams from the socket. */
function toResponse(res: IncomingMessage): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  if (NULL_BODY_STATUSES.has(status)) {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage ?? '', headers });
  }
  const body = Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, { status, statusText: res.statusMessage ?? '', headers });
}
