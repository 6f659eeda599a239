import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Answer } from './answer';
import type { ErrorResponse } from './error-responses';
import type { FakeProvider } from './fake-provider';
import { chunkBody, completionBody, errorBody, parseWireRequest, usageBody } from './openai-wire';
import type { Plan } from './plan';
import { SSE_DONE, sseEvent } from './sse';

/** A running fake provider on 127.0.0.1. */
export interface FakeServer {
  /** `http://127.0.0.1:PORT/v1`, ready for an OpenAI client's `baseURL`. */
  readonly baseURL: string;
  readonly port: number;
  /** Stops the server, ends every pending wait and destroys open sockets (hung requests included). */
  close(): Promise<void>;
}

type AnswerPlan = Extract<Plan, { kind: 'answer' }>;

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MALFORMED_EVENT = '{"id":"chatcmpl-malformed","object":"chat.completion.chunk","choices":[{"delta":{"content":';

/**
 * Serves `fake` over HTTP on 127.0.0.1 with a random port: `POST /v1/chat/completions` and
 * `GET /v1/models`, in OpenAI's wire format. Usually called as `fake.listen()`.
 * @example const server = await listenFake(fake); await fetch(`${server.baseURL}/models`);
 */
export async function listenFake(fake: FakeProvider): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const pending = new Set<AbortController>();
  const server = createServer((req, res) => {
    const controller = new AbortController();
    pending.add(controller);
    res.on('close', () => {
      controller.abort();
      pending.delete(controller);
    });
    serve(fake, req, res, controller.signal).catch(() => {
      // The only rejections are waits cut short by a departed client; nothing is left to answer.
      if (!res.headersSent && !res.destroyed) res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of pending) c.abort();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
      }),
  };
}

async function serve(
  fake: FakeProvider,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname.replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/v1/models') {
    const data = fake.models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'rel-fake' }));
    return sendJson(res, 200, { object: 'list', data });
  }
  if (path !== '/v1/chat/completions') {
    return sendJson(
      res,
      404,
      errorBody(`Unknown request URL: ${req.method} ${url.pathname}.`, 'invalid_request_error', null, 'unknown_url'),
    );
  }
  if (req.method !== 'POST') {
    return sendJson(res, 405, errorBody(`Method ${req.method} not allowed.`, 'invalid_request_error', null, null));
  }
  const headers = headersOf(req);
  const raw = await readBody(req);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    const message =
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";
    return sendError(res, fake.rejectBody(message, null, headers));
  }
  const parsed = parseWireRequest(json);
  if (!parsed.ok) {
    const { model, stream } = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
    const name = typeof model === 'string' ? model : '';
    return sendError(res, fake.rejectBody(parsed.error.message, parsed.error.param, headers, name, stream === true));
  }
  const key = headers['idempotency-key'];
  const plan = fake.plan({
    request: parsed.value.request,
    includeUsage: parsed.value.includeUsage,
    headers,
    ...(key === undefined ? {} : { idempotencyKey: key }),
  });
  const sleep = (ms: number) => fake.clock.sleep(ms, signal);
  if (plan.latencyMs > 0) await sleep(plan.latencyMs);
  switch (plan.kind) {
    case 'error':
      return sendError(res, plan);
    case 'reset':
      return resetSocket(req.socket);
    case 'hang':
      return waitForClose(signal);
    case 'answer':
      return plan.stream ? streamAnswer(res, plan, sleep) : sendAnswer(req, res, plan, sleep);
  }
}

async function sendAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  plan: AnswerPlan,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const { fault } = plan;
  const body = JSON.stringify(completionBody(plan.meta, plan.answer));
  res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': plan.meta.id });
  if (fault.slowFirstTokenMs) {
    res.flushHeaders();
    await sleep(fault.slowFirstTokenMs);
  }
  if (fault.cutAfter !== undefined || fault.stall) {
    await write(res, body.slice(0, Math.floor(body.length / 2)));
    if (fault.stall) await sleep(fault.stall.stallMs);
    return cutSocket(req.socket);
  }
  res.end(fault.malformedAt !== undefined ? body.slice(0, -2) : body);
}

async function streamAnswer(
  res: ServerResponse,
  plan: AnswerPlan,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const { fault, answer, meta } = plan;
  const usage = plan.includeUsage ? null : undefined;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': meta.id,
  });
  res.flushHeaders();
  if (fault.slowFirstTokenMs) await sleep(fault.slowFirstTokenMs);
  const isTool = answer.kind === 'tool_call';
  await write(
    res,
    sseEvent(chunkBody(meta, { role: 'assistant', content: isTool ? null : '', refusal: null }, null, usage)),
  );
  for (let i = 0; i <= answer.pieces.length; i++) {
    const atEnd = i === answer.pieces.length;
    if (fault.cutAfter !== undefined && (i === fault.cutAfter || (atEnd && fault.cutAfter > i))) {
      return cutSocket(res.socket);
    }
    if (fault.stall && (i === fault.stall.afterChunks || (atEnd && fault.stall.afterChunks > i))) {
      await sleep(fault.stall.stallMs);
      res.end();
      return;
    }
    if (fault.malformedAt !== undefined && (i === fault.malformedAt || (atEnd && fault.malformedAt > i))) {
      await write(res, sseEvent(MALFORMED_EVENT));
    }
    if (atEnd) break;
    if (i > 0 && plan.chunkDelayMs > 0) await sleep(plan.chunkDelayMs);
    await write(res, sseEvent(chunkBody(meta, contentDelta(answer, i), null, usage)));
  }
  if (plan.chunkDelayMs > 0) await sleep(plan.chunkDelayMs);
  await write(res, sseEvent(chunkBody(meta, {}, answer.finishReason, usage)));
  if (plan.includeUsage) await write(res, sseEvent(chunkBody(meta, null, null, usageBody(answer))));
  res.end(fault.noDone ? undefined : SSE_DONE);
}

function contentDelta(answer: Answer, i: number): Record<string, unknown> {
  const piece = answer.pieces[i] as string;
  if (answer.kind !== 'tool_call' || !answer.toolCall) return { content: piece };
  const fn = i === 0 ? { name: answer.toolCall.name, arguments: piece } : { arguments: piece };
  const call =
    i === 0 ? { index: 0, id: answer.toolCall.id, type: 'function', function: fn } : { index: 0, function: fn };
  return { tool_calls: [call] };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, e: ErrorResponse): void {
  sendJson(res, e.status, e.body, e.headers);
}

/** Writes and waits until the data is handed to the socket, so a later destroy cannot drop it. */
function write(res: ServerResponse, data: string): Promise<void> {
  return new Promise<void>((resolve) => {
    if (res.destroyed) resolve();
    else res.write(data, () => resolve());
  });
}

/**
 * Closes the connection mid-response without ending the HTTP message. A FIN rather than a reset,
 * so the bytes already sent are never discarded by the client's kernel before it reads them.
 */
function cutSocket(socket: Socket | null): void {
  if (socket && !socket.destroyed) socket.destroy();
}

/** Resets the connection (TCP RST) before any byte of the response. */
function resetSocket(socket: Socket | null): void {
  if (!socket || socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function waitForClose(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('request body too large'));
      else parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
