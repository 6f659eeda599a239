import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Handler, RelError, RequestContext, type StreamChunk, UsageSchema } from '@rel/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture-server';
import { splitAt } from '../test/streams';
import { anthropic } from './anthropic';
import { openaiCompatible } from './openai-compatible';

/** What the loopback server sends as the body of the next streaming request. */
interface Reply {
  readonly parts: readonly Uint8Array[];
  /** Destroy the socket after the body instead of ending the response. */
  readonly cut: boolean;
}

let reply: Reply = { parts: [], cut: false };
let baseURL = '';
const sockets = new Set<Socket>();
const server = createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    const { parts, cut } = reply;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    for (const part of parts) {
      if (res.destroyed) return;
      await new Promise<void>((resolve) => res.write(part, () => resolve()));
    }
    if (cut) res.socket?.destroy();
    else res.end();
  });
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const enc = new TextEncoder();
/** Recorded streams cut into lines and JSON tokens, to recombine into near-valid streams. */
const pieces = (files: readonly string[]) =>
  files.flatMap((f) => fixture(f).split(/(?<=\n)|(?=[{}":,])/)).filter((p) => p !== '');

/** Bytes from the wire: arbitrary, or recombined pieces of recorded streams (whole ones included). */
function body(files: readonly string[]) {
  return fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.array(fc.constantFrom(...pieces(files)), { maxLength: 80 }).map((p) => enc.encode(p.join(''))),
    fc.constantFrom(...files).map((f) => enc.encode(fixture(f))),
  );
}

const HANG_LIMIT_MS = 5_000;

/** Drains one streaming call; a call that neither ends nor fails within the limit is a hang. */
async function drain(handler: Handler, ctx: RequestContext): Promise<{ chunks: StreamChunk[]; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('hang: no end and no failure')), HANG_LIMIT_MS);
  });
  const chunks: StreamChunk[] = [];
  const work = (async () => {
    try {
      const res = await handler({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, ctx);
      if (res.type !== 'stream') throw new Error('expected a stream');
      for await (const c of res.chunks) chunks.push(c);
      return { chunks };
    } catch (error) {
      return { chunks, error };
    }
  })();
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Either a RelError, or a valid stream: exactly one finish, last, with a valid usage that was recorded. */
function expectRelErrorOrValidStream(out: { chunks: StreamChunk[]; error?: unknown }, ctx: RequestContext): void {
  if (out.error !== undefined) {
    expect(RelError.is(out.error), String(out.error)).toBe(true);
    return;
  }
  const finishes = out.chunks.filter((c) => c.type === 'finish');
  expect(finishes).toHaveLength(1);
  const finish = out.chunks.at(-1);
  if (finish?.type !== 'finish') throw new Error('the last chunk is not the finish');
  if (finish.usage) {
    expect(UsageSchema.safeParse(finish.usage).success).toBe(true);
    expect(ctx.usage).toEqual(finish.usage);
  }
  for (const c of out.chunks) {
    if (c.type === 'text-delta') expect(typeof c.text).toBe('string');
    if (c.type === 'tool-call-delta') expect(Number.isInteger(c.index) && c.index >= 0).toBe(true);
  }
}

describe.each([
  {
    name: 'openaiCompatible',
    files: ['openai/text-stream.sse', 'openai/azure-tool-stream.sse', 'openai/error-in-stream.sse'],
    make: (onMalformedEvent: 'skip' | 'fail') => openaiCompatible({ baseURL, apiKey: '', onMalformedEvent }),
  },
  {
    name: 'anthropic',
    files: ['anthropic/text-stream.sse', 'anthropic/tool-use-stream.sse', 'anthropic/overloaded-mid-stream.sse'],
    make: (onMalformedEvent: 'skip' | 'fail') => anthropic({ baseURL, apiKey: '', onMalformedEvent }),
  },
])('$name over HTTP, whatever bytes the server streams (property)', ({ files, make }) => {
  it('ends in a RelError or a valid stream with one finish, in bounded time, leaving no listener', async () => {
    await fc.assert(
      fc.asyncProperty(
        body(files),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        fc.boolean(),
        async (bytes, cuts, cut, strict) => {
          reply = { parts: splitAt(bytes, cuts), cut };
          const ctx = new RequestContext();
          const out = await drain(make(strict ? 'fail' : 'skip'), ctx);
          expectRelErrorOrValidStream(out, ctx);
          expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
        },
      ),
      { numRuns: 120 },
    );
  });
});
