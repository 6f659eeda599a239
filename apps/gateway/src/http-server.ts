import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Abortable,
  AbortSource,
  type LlmRequest,
  type LlmResponse,
  RelError,
  type RequestContext,
  toRelError,
} from '@rel/core';
import { type AdminControls, type AdminKey, serveAdmin } from './admin';
import type { Caller, KeyRing } from './auth';
import type { GatewayConfig } from './config';
import { EventSink } from './event-sink';
import { invalid, publicError, readJson, sendError, sendJson } from './http-io';
import { ChunkWriter, parseChatRequest, toChatCompletion, toErrorBody } from './openai-wire';

/**
 * One configuration generation of the gateway: a request takes it once, when it arrives, and is
 * served by it to the end, so a reload never changes the rules under a request in flight.
 */
export interface RequestScope {
  readonly config: GatewayConfig;
  readonly keys: KeyRing;
  /** Answers one authenticated request through the composed middlewares. */
  handle(request: LlmRequest, ctx: RequestContext): Promise<LlmResponse>;
  /** Builds the request context for a caller (principal, feature, events, clock). */
  context(
    caller: Caller,
    init: { signal: AbortSignal | Abortable; idempotencyKey?: string; feature?: string; userId?: string },
  ): RequestContext;
}

/** A request refused before the pipeline, as `GatewayApp.rejected` is told about it. */
export interface Rejection {
  readonly status: number;
  /** Already in its public form: no exception text, no provider body. */
  readonly error: RelError;
  readonly path: string;
  /** The caller, when the key was valid. */
  readonly caller?: Caller;
  /** The alias, when the body named a configured one. */
  readonly model?: string;
  /** The `x-rel-feature` header, when the key was valid. */
  readonly feature?: string;
}

/** What the HTTP layer needs from the gateway. */
export interface GatewayApp {
  /** The configuration the server starts with (its `server` section is read once, at start). */
  readonly config: GatewayConfig;
  /** The configuration generation that serves a request arriving now. */
  scope(): RequestScope;
  /** Prometheus text for GET /metrics, when enabled. */
  metrics?(): Promise<string>;
  /** True when every dependency (the store) answers. */
  ready(): Promise<boolean>;
  /**
   * Told about a request refused before the pipeline (bad key, body or model), which the
   * pipeline never sees, before the answer is sent. Never given the key or the body.
   * @returns the request id to answer in `x-request-id`, if it has one.
   */
  rejected?(info: Rejection): string | undefined;
  /** The incident admin API (`/admin/...`); absent: those paths answer 404. */
  readonly admin?: {
    readonly key: AdminKey;
    readonly controls: AdminControls;
    note(fields: { method: string; path: string; status: number; action?: string }): void;
  };
}

export interface RunningGateway {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish up to the grace period, then closes. */
  shutdown(): Promise<void>;
}

/**
 * Serves the OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models, /healthz, /readyz,
 * /metrics, and the admin API under /admin/ when the app has one.
 * Every failure answers OpenAI-style error JSON with the user-visible class as `type`; never a stack trace.
 * @example
 * const running = await startHttpServer(gateway); // a `GatewayApp`, usually from `createGateway`
 * await fetch(`${running.url}/healthz`);
 * await running.shutdown();
 */
export async function startHttpServer(app: GatewayApp): Promise<RunningGateway> {
  const { server: s } = app.config;
  const inflight = new Map<AbortSource, Promise<void>>();
  let draining = false;

  const server = createServer(
    {
      headersTimeout: s.headersTimeoutMs,
      requestTimeout: 0, // the body has its own timer (408); a long stream must not be cut
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(s.headersTimeoutMs / 2))),
    },
    (req, res) => {
      route(req, res).catch((error) => reject(req, res, error, {}));
    },
  );
  server.keepAliveTimeout = 5_000;

  /** Answers a refusal before the pipeline, and tells the app (telemetry for it). */
  function reject(
    req: IncomingMessage,
    res: ServerResponse,
    error: unknown,
    known: { caller?: Caller; model?: string; feature?: string },
  ): void {
    const rel = publicError(toRelError(error));
    const status = rel.info.httpStatus;
    const id = app.rejected?.({ status, error: rel, path: pathOf(req.url), ...known });
    sendError(res, rel, status, id ? { 'x-request-id': id } : {});
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
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
      const scope = app.scope();
      const caller = scope.keys.authenticate(req.headers.authorization);
      const ids = Object.keys(scope.config.models).filter((m) => !caller.models || caller.models.includes(m));
      return sendJson(res, 200, {
        object: 'list',
        data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'rel' })),
      });
    }
    if (app.admin && path.startsWith('/admin/')) {
      const admin = app.admin;
      return serveAdmin(req, res, path, {
        key: admin.key,
        controls: admin.controls,
        bodyTimeoutMs: s.bodyTimeoutMs,
        note: (fields) => admin.note(fields),
      });
    }
    sendError(res, invalid(`no route ${req.method} ${path}`), 404);
  }

  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const scope = app.scope();
    const known: { caller?: Caller; model?: string; feature?: string } = {};
    let parsed: ReturnType<typeof parseChatRequest>;
    try {
      known.caller = scope.keys.authenticate(req.headers.authorization);
      const feature = header(req, 'x-rel-feature');
      if (feature) known.feature = feature;
      parsed = parseChatRequest(await readJson(req, res, s.bodyLimitBytes, s.bodyTimeoutMs));
      if (!Object.hasOwn(scope.config.models, parsed.request.model)) {
        throw new RelError(
          { kind: 'invalid_request', param: 'model', status: 404 },
          { message: `unknown model "${parsed.request.model}"; GET /v1/models lists the models of this key` },
        );
      }
      known.model = parsed.request.model;
      scope.keys.authorize(known.caller, parsed.request.model);
    } catch (error) {
      reject(req, res, error, known);
      return;
    }
    const { request, includeUsage, user } = parsed;
    const caller = known.caller;
    const feature = known.feature;

    const idempotencyKey = header(req, 'idempotency-key');
    const userId = header(req, 'x-rel-user') ?? user;
    // Not an AbortController: the layers below listen through `onAbort`, and a request that is
    // never cancelled (almost all) then makes no signal and no EventTarget listener.
    const abort = new AbortSource();
    const ctx = scope.context(caller, {
      signal: abort,
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
      const response = await scope.handle(request, ctx);
      const id = `chatcmpl-${ctx.requestId.slice(4)}`;
      const created = Math.floor(ctx.clock.now() / 1000);
      if (response.type === 'completion') {
        sendJson(res, 200, toChatCompletion(response, id, created), headers);
        return;
      }
      res.writeHead(200, {
        'x-request-id': headers['x-request-id'],
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
      const writer = new ChunkWriter(id, created, response.requestedModel);
      const sink = new EventSink(res);
      try {
        for await (const chunk of response.chunks) {
          const text = writer.sse(chunk, includeUsage);
          if (text !== '') sink.push(text);
          // Waits only when the socket is full: an `await` of nothing would still cost a turn.
          const blocked = sink.blocked;
          if (blocked) await blocked;
        }
        sink.end('data: [DONE]\n\n');
      } catch (error) {
        // Never a silent truncation: the caller reads an error event, as OpenAI sends one.
        const rel = toRelError(error, abort.aborted ? abort.signal : undefined);
        sink.end(`data: ${JSON.stringify(toErrorBody(publicError(rel)))}\n\n`);
      }
    } catch (error) {
      sendError(res, toRelError(error, abort.aborted ? abort.signal : undefined), undefined, headers);
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
      for (const a of inflight.keys()) {
        try {
          a.abort(new RelError({ kind: 'cancelled', reason: 'gateway shutting down' }));
        } catch {
          // A listener that throws is its layer's bug; every other request is still cancelled.
        }
      }
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
