import { Agent, type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BodyReader, type HttpAnswer, RAW_TRANSPORT, type RawTransport, answerOf } from './http-transport';
import { incomingAnswer } from './incoming-answer';
import { nodeHttpFetch } from './node-http-fetch';

/** Routes of the loopback server: what each answers. */
const routes: Record<string, (res: ServerResponse) => void> = {
  '/headers': (res) => {
    res.writeHead(200, [
      ['Content-Type', 'application/json'],
      ['X-Repeat', 'a'],
      ['x-repeat', 'b'],
      ['Retry-After', '2'],
      ['retry-after', '3'],
    ]);
    res.end('{"ok":true}');
  },
  '/chunks': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    setTimeout(() => res.end('data: 2\n\n'), 5);
  },
  '/empty': (res) => res.writeHead(204).end(),
  '/cut': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'content-length': '1000' });
    res.write('data: part\n\n');
    // Cut by the test once the caller has read these bytes (a timer here raced the caller).
    cuts.push(res);
  },
  '/hang': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
  },
  '/big': (res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.alloc(256 * 1024, 120));
  },
};

/** `/cut` answers waiting for the test to cut their connection. */
const cuts: ServerResponse[] = [];

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    req.resume();
    (routes[req.url ?? ''] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The answer to GET `path` through `incomingAnswer`, on a fresh connection. */
function rawGet(path: string): Promise<HttpAnswer & { socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent: false }, (res) =>
      resolve(Object.assign(incomingAnswer(res), { socket: res.socket })),
    );
    req.on('error', reject);
    req.end();
  });
}

/** The same answer as the runtime's `fetch` gives it, read through `answerOf`. */
async function fetchGet(path: string): Promise<HttpAnswer> {
  return answerOf(await fetch(`${base}${path}`));
}

async function readAll(reader: BodyReader | null): Promise<{ text: string; error?: unknown }> {
  if (!reader) return { text: '' };
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return { text };
      text += decoder.decode(next.value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** GET `path` on `agent`, made into an answer one turn after its head, when a small body is all here. */
function laterGet(path: string, agent: Agent, release: () => void) {
  return new Promise<{ answer: HttpAnswer; complete: boolean; reused: boolean }>((resolve, reject) => {
    const req = request(`${base}${path}`, { agent }, (res) => {
      queueMicrotask(() =>
        resolve({ answer: incomingAnswer(res, release), complete: res.complete, reused: req.reusedSocket }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('incomingAnswer: a node:http answer read as the Response of it would be', () => {
  it('a body that came whole with its head: the same bytes as fetch, release called once, the socket reused', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const release = vi.fn();
      const first = await laterGet('/headers', agent, release);
      expect(first.complete).toBe(true);
      expect(release).toHaveBeenCalledTimes(1);
      expect(await readAll(first.answer.reader())).toEqual(await readAll((await fetchGet('/headers')).reader()));
      const second = await laterGet('/headers', agent, release);
      expect(second.reused).toBe(true);
      expect(await readAll(second.answer.reader())).toEqual({ text: '{"ok":true}' });
      expect(release).toHaveBeenCalledTimes(2);
      // A body that had not all arrived is read as it comes; nothing is released early.
      const chunks = await laterGet('/chunks', agent, release);
      expect(chunks.complete).toBe(false);
      expect(await readAll(chunks.answer.reader())).toEqual({ text: 'data: 1\n\ndata: 2\n\n' });
      expect(release).toHaveBeenCalledTimes(2);
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['/headers', ['content-type', 'x-repeat', 'X-REPEAT', 'retry-after', 'absent']],
    ['/chunks', ['content-type']],
    ['/empty', ['content-type']],
  ])(
    '%s: the same status, ok, headers.get (any case, repeats joined), body presence and bytes as fetch',
    async (path, names) => {
      const [raw, web] = await Promise.all([rawGet(path), fetchGet(path)]);
      expect([raw.status, raw.ok, raw.hasBody]).toEqual([web.status, web.ok, web.hasBody]);
      for (const name of names) expect(raw.headers.get(name)).toBe(web.headers.get(name));
      expect(await readAll(raw.reader())).toEqual(await readAll(web.reader()));
    },
  );

  it('joins repeated headers as Headers.get does, where node:http would keep only the first', async () => {
    const raw = await rawGet('/headers');
    expect(raw.headers.get('retry-after')).toBe('2, 3');
    expect(raw.headers.get('X-Repeat')).toBe('a, b');
  });

  it('reads a body larger than the high-water mark whole, in order', async () => {
    const raw = await rawGet('/big');
    const { text } = await readAll(raw.reader());
    expect(text).toBe('x'.repeat(256 * 1024));
  });

  it('fails a body cut before its end as Readable.toWeb does, after the bytes that arrived', async () => {
    const raw = await rawGet('/cut');
    const rawReader = raw.reader() as BodyReader;
    const web = await new Promise<IncomingMessage>((resolve) =>
      request(`${base}/cut`, { agent: false }, resolve).end(),
    );
    const webReader = (Readable.toWeb(web) as unknown as ReadableStream<Uint8Array>).getReader();
    // Both callers hold the bytes sent before the cut; then both connections are cut mid-body.
    const decoder = new TextDecoder();
    const firsts = await Promise.all([rawReader.read(), webReader.read()]);
    const [firstA, firstB] = firsts.map((r) => (r.done ? '' : decoder.decode(r.value)));
    for (const res of cuts.splice(0)) res.socket?.destroy();
    const [a, b] = await Promise.all([readAll(rawReader), readAll(webReader)]);
    expect(firstA + a.text).toBe('data: part\n\n');
    expect(firstB + b.text).toBe(firstA + a.text);
    expect(a.error).toBeInstanceOf(Error);
    const shape = (e: unknown) => ({ name: (e as Error).name, code: (e as { code?: unknown }).code });
    expect(shape(a.error)).toEqual(shape(b.error));
  });

  it('cancel ends a pending read as done and closes the connection of an unfinished body', async () => {
    const raw = await rawGet('/hang');
    const reader = raw.reader() as BodyReader;
    await reader.read();
    const pending = reader.read();
    await reader.cancel(new Error('stop'));
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    await vi.waitFor(() => expect(raw.socket.destroyed).toBe(true));
  });
});

describe('nodeHttpFetch: its lower-level transport', () => {
  it('is what the adapters call; the FetchFunction itself still answers a Response', async () => {
    const fetchFn = nodeHttpFetch();
    const raw = (fetchFn as { [RAW_TRANSPORT]?: RawTransport })[RAW_TRANSPORT] as RawTransport;
    const answer = await raw(`${base}/headers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: new AbortController().signal,
    });
    expect([answer.status, answer.headers.get('x-repeat')]).toEqual([200, 'a, b']);
    expect((await readAll(answer.reader())).text).toBe('{"ok":true}');
    const res = await fetchFn(`${base}/headers`, { method: 'POST', body: '{}' });
    expect(res).toBeInstanceOf(Response);
    expect(await res.text()).toBe('{"ok":true}');
  });

  it('an aborted signal destroys the request with the signal as the cause', async () => {
    const raw = (nodeHttpFetch() as { [RAW_TRANSPORT]?: RawTransport })[RAW_TRANSPORT] as RawTransport;
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const error = await raw(`${base}/hang`, {
      method: 'POST',
      headers: {},
      body: '',
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
  });
});
