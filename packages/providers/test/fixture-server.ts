import { readFileSync } from 'node:fs';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the fixture server answers one model name. */
export interface FixtureRoute {
  /** A file under `fixtures/`; `.sse` files are served as `text/event-stream`. */
  readonly file?: string;
  /** A literal body instead of a file. */
  readonly body?: string;
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** Bytes per write; small values split events, lines, CRLF pairs and UTF-8 sequences. Default 7. */
  readonly chunkSize?: number;
  /** Rewrite LF line endings as CRLF. */
  readonly crlf?: boolean;
  /** After this many bytes, stop writing and keep the connection open (until the client leaves). */
  readonly hangAfterBytes?: number;
  /** Send nothing at all, not even the status line, and hold the connection open. */
  readonly hangBeforeHead?: boolean;
  /** Destroy the socket after the body instead of ending the response. */
  readonly destroy?: boolean;
}

export interface RecordedRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

export interface FixtureServer {
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /**
   * Connections that carried a request and are still open. (undici may open a spare idle
   * connection after an abort; it carries no request and is not counted.)
   */
  connections(): number;
  close(): Promise<void>;
}

const fixtures = new URL('../fixtures/', import.meta.url);

/** Reads a recorded fixture file. */
export function fixture(name: string): string {
  return readFileSync(new URL(name, fixtures), 'utf8');
}

/**
 * A tiny real HTTP server on 127.0.0.1 that replays recorded wire fixtures, choosing the route by
 * the `model` of the JSON request body, and records every request it receives.
 */
export async function startFixtureServer(routes: Record<string, FixtureRoute>): Promise<FixtureServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const busy = new Set<Socket>();
  const server = createServer(async (req, res) => {
    if (!req.socket.destroyed) busy.add(req.socket);
    const raw = await readBody(req);
    const body = JSON.parse(raw) as Record<string, unknown>;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    requests.push({ url: req.url ?? '', headers, body });
    const route = routes[String(body.model)];
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"type":"error","error":{"type":"not_found_error","message":"model not found"}}');
      return;
    }
    if (route.hangBeforeHead) return;
    let text = route.body ?? fixture(route.file ?? '');
    if (route.crlf) text = text.replace(/\n/g, '\r\n');
    const sse = route.file?.endsWith('.sse') ?? false;
    res.writeHead(route.status ?? 200, {
      'content-type': sse ? 'text/event-stream' : 'application/json',
      ...route.headers,
    });
    res.flushHeaders();
    const bytes = Buffer.from(text, 'utf8');
    const size = route.chunkSize ?? 7;
    const limit = route.hangAfterBytes ?? bytes.length;
    for (let i = 0; i < limit && !res.destroyed; i += size) {
      res.write(bytes.subarray(i, Math.min(i + size, limit)));
      await new Promise((r) => setImmediate(r));
    }
    if (route.hangAfterBytes !== undefined) return;
    if (route.destroy) res.socket?.destroy();
    else res.end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      busy.delete(s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    connections: () => busy.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
