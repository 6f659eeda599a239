import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LlmRequest, type LlmResponse, RelError, type RequestContext, retryAfterOf, toRelError } from '@rel/core';
import { type Caller, KeyRing } from './auth';
import type { GatewayConfig } from './config';
import { ChunkWriter, parseChatRequest, toChatCompletion, toErrorBody } from './openai-wire';

/** What the HTTP layer needs from the composed pipeline. */
export interface GatewayApp {
  readonly config: GatewayConfig;
  /** Answers one authenticated request through the composed middlewares. */
  handle(request: LlmRequest, ctx: RequestContext): Promise<LlmResponse>;
  /** Builds the request context for a caller (principal, feature, events, clock). */
  context(
    caller: Caller,
    init: { signal: AbortSignal; idempotencyKey?: string; feature?: string; userId?: string },
  ): RequestContext;
  /** Prometheus text for GET /metrics, when enabled. */
  metrics?(): Promise<string>;
  /** True when every dependency (the store) answers. */
  ready(): Promise<boolean>;
  /**
   * Told about a request refused before the pipeline (bad key, body or model), which telemetry
   * never sees: status and failure kind only, never the key or the body.
   */
  rejected?(info: { status: number; code: string; path: string }): void;
}

export interface RunningGateway {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish up to the grace period, then closes. */
  shutdown(): Promise<void>;
}

/**
 * Serves the OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models, /healthz, /readyz, /metrics.
 * Every failure answers OpenAI-style error JSON with the user-visible class as `type`; never a stack trace.
 * @example
 * const running = await startHttpServer(gateway); // a `GatewayApp`, usually from `createGateway`
 * await fetch(`${running.url}/healthz`);
 * await running.shutdown();
 */
export async function startHttpServer(app: GatewayApp): Promise<RunningGateway> {
  const { server: s } = app.config;
  const keys = new KeyRing(app.config.keys);
  const inflight = new Map<AbortController, Promise<void>>();
  let draining = false;

  const server = createServer(
    {
      headersTimeout: s.headersTimeoutMs,
      requestTimeout: 0, // the body has its own timer (408); a long stream must not be cut
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(s.headersTimeoutMs / 2))),
    },
    (req, res) => {
      route(req, res).catch((error) => {
        const rel = toRelError(error);
        const status = sendError(res, rel);
        app.rejected?.({ status, code: rel.failure.kind, path: pathOf(req.url) });
      });
    },
  );
  server.keepAliveTimeout = 5_000;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const ok = !draining && (await app.ready().catch(() => false));
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not_ready' });
    }
    if (req.method === 'GET' && path === '/metrics' && app.metrics) {
      const text = await app.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const caller = keys.authenticate(req.headers.authorization);
      const ids = Object.keys(app.config.models).filter((m) => !caller.models || caller.models.includes(m));
      return sendJson(res, 200, {
        object: 'list',
        data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'rel' })),
      });
    }
    if (path === '/v1/chat/completions') {
      if (req.method !== 'POST') {
        sendError(res, invalid(`method ${req.method} not allowed`), 405);
        return;
      }
      if (draining) {
        res.setHeader('connection', 'close');
        sendError(res, new RelError({ kind: 'provider_unavailable' }, { message: 'the gateway is shutting down' }));
        return;
      }
      return chat(req, res);
    }
    sendError(res, invalid(`no route ${req.method} ${path}`), 404);
  }

  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = keys.authenticate(req.headers.authorization);
    const body = await readJson(req, res, s.bodyLimitBytes, s.bodyTimeoutMs);
    const { request, includeUsage, user } = parseChatRequest(body);
    if (!Object.hasOwn(app.config.models, request.model)) {
      throw new RelError(
        { kind: 'invalid_request', param: 'model', status: 404 },
        { message: `unknown model "${request.model}"; GET /v1/models lists the models of this key` },
      );
    }
    keys.authorize(caller, request.model);

    const idempotencyKey = header(req, 'idempotency-key');
    const feature = header(req, 'x-rel-feature');
    const userId = header(req, 'x-rel-user') ?? user;
    const abort = new AbortController();
    const ctx = app.context(caller, {
      signal: abort.signal,
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(feature ? { feature } : {}),
      ...(userId ? { userId } : {}),
    });
    const headers = { 'x-request-id': ctx.requestId };
    let finished!: () => void;
    inflight.set(abort, new Promise<void>((resolve) => (finished = resolve)));
    const onClose = () => {
      if (!res.writableFinished)
        abort.abort(new RelError({ kind: 'cancelled', reason: 'client closed the connection' }));
    };
    res.on('close', onClose);
    try {
      const response = await app.handle(request, ctx);
      const id = `chatcmpl-${ctx.requestId.slice(4)}`;
      const created = Math.floor(ctx.clock.now() / 1000);
      if (response.type === 'completion') {
        sendJson(res, 200, toChatCompletion(response, id, created), headers);
        return;
      }
      res.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      const writer = new ChunkWriter(id, created, response.requestedModel);
      try {
        for await (const chunk of response.chunks) {
          for (const wire of writer.encode(chunk, includeUsage)) await write(res, `data: ${JSON.stringify(wire)}\n\n`);
        }
        await write(res, 'data: [DONE]\n\n');
      } catch (error) {
        // Never a silent truncation: the caller reads an error event, as OpenAI sends one.
        const rel = toRelError(error, abort.signal);
        if (!res.destroyed) res.write(`data: ${JSON.stringify(toErrorBody(publicError(rel)))}\n\n`);
      }
      res.end();
    } catch (error) {
      sendError(res, toRelError(error, abort.signal), undefined, headers);
    } finally {
      res.off('close', onClose);
      inflight.delete(abort);
      finished();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(s.port, s.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = s.host.includes(':') ? `[${s.host}]` : s.host;

  return {
    server,
    port,
    url: `http://${host}:${port}`,
    async shutdown() {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, s.shutdownGraceMs);
      });
      await Promise.race([Promise.all(inflight.values()), grace]);
      clearTimeout(timer);
      // Past the grace period: cancel what is left; the budget releases or settles each reservation.
      for (const a of inflight.keys()) a.abort(new RelError({ kind: 'cancelled', reason: 'gateway shutting down' }));
      await Promise.race([Promise.all(inflight.values()), new Promise((r) => setTimeout(r, 2_000).unref())]);
      server.closeAllConnections();
      await closed;
    },
  };
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}

/** Writes with backpressure: waits for `drain` when the socket buffer is full (a slow reader). */
function write(res: ServerResponse, text: string): Promise<void> | undefined {
  if (res.destroyed) return undefined;
  if (res.write(text)) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function invalid(message: string): RelError {
  return new RelError({ kind: 'invalid_request' }, { message });
}

/**
 * Hides detail a caller must not see: exception text (`internal`), provider bodies and the
 * provider-side credential failures (`provider_error`, `unauthorized` from the provider), raw
 * malformed output. Every other message is rel's own wording, which names the bad field.
 */
function publicError(error: RelError): RelError {
  const f = error.failure;
  switch (f.kind) {
    case 'internal':
      return new RelError({ kind: 'internal', message: 'internal error' }, { message: 'internal error', cause: error });
    case 'provider_error':
      return new RelError(
        { kind: 'provider_error' },
        { message: 'the provider answered something unusable', cause: error },
      );
    case 'unauthorized':
      return f.origin === 'provider'
        ? new RelError(f, { message: "the provider refused the gateway's credentials", cause: error })
        : error;
    case 'malformed_output':
      return new RelError(
        { kind: 'malformed_output', raw: '', issues: f.issues.slice(0, 5) },
        {
          message: `the model's answer stayed invalid against the schema: ${f.issues.slice(0, 3).join('; ')}`,
          cause: error,
        },
      );
    default:
      return error;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  error: RelError,
  status?: number,
  headers: Record<string, string> = {},
): number {
  const pub = publicError(error);
  const f = pub.failure;
  const code = status ?? pub.info.httpStatus;
  const wait = retryAfterOf(f) ?? (code === 429 || code === 503 ? 1_000 : undefined);
  const all = wait === undefined ? headers : { ...headers, 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) };
  sendJson(res, code, toErrorBody(pub), all);
  return code;
}

/** Reads a JSON body with a size limit (413) and a time limit (408), answering 400 for bad JSON. */
async function readJson(req: IncomingMessage, res: ServerResponse, limit: number, timeoutMs: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw invalid('content-type must be application/json');
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) {
    res.setHeader('connection', 'close');
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const timer = setTimeout(() => {
      cleanup();
      res.setHeader('connection', 'close');
      reject(
        new RelError(
          { kind: 'invalid_request', status: 408 },
          { message: `request body not received within ${timeoutMs} ms` },
        ),
      );
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        res.setHeader('connection', 'close');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve();
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new RelError({ kind: 'cancelled', reason: 'client aborted the request body' }, { cause: e }));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new RelError(
      { kind: 'invalid_request' },
      { message: `malformed JSON body: ${(error as Error).message}`, cause: error },
    );
  }
}

function tooLarge(limit: number): RelError {
  return new RelError({ kind: 'invalid_request', status: 413 }, { message: `request body over ${limit} bytes` });
}
