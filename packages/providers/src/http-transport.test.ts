import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestContext } from '@rel/core';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture-server';
import type { FetchFunction } from './http-transport';
import { nodeHttpFetch } from './node-http-fetch';
import { openaiCompatible } from './openai-compatible';

const ask = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Hi' }] };
const answer = fixture('openai/completion.json');

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

/** A server whose `/v1/chat/completions` answers `first` (a status and headers), and `/v2/...` the completion. */
async function start(first?: { status: number; headers: Record<string, string> }) {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    seen.push({ method: req.method ?? '', url: req.url ?? '', body });
    if (first && req.url === '/v1/chat/completions') {
      res.writeHead(first.status, first.headers).end('moved');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { baseURL: `http://127.0.0.1:${port}/v1`, seen };
}

async function read(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

let stop: () => Promise<void> = async () => {};
afterEach(() => stop());

describe('the default fetch of the adapters (runtimeFetch)', () => {
  it('sends one request per call when the server answers directly', async () => {
    const { baseURL, seen } = await start();
    const res = await openaiCompatible({ baseURL, apiKey: 'sk-test' })(ask, new RequestContext());
    expect(res.type).toBe('completion');
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0]?.body ?? '{}')).toMatchObject({ model: 'gpt-4o' });
  });

  it('still follows a redirect as fetch does by default: a 307 re-sends the same POST to the new location', async () => {
    const { baseURL, seen } = await start({ status: 307, headers: { location: '/v2/chat/completions' } });
    const res = await openaiCompatible({ baseURL, apiKey: 'sk-test' })(ask, new RequestContext());
    expect(res.type === 'completion' && res.message.content).toBeTruthy();
    // The lean first send meets the redirect as an error and is sent again the default way.
    expect(seen.map((s) => s.url)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v2/chat/completions']);
    const last = seen.at(-1);
    expect(last?.method).toBe('POST');
    expect(last?.body).toBe(seen[0]?.body);
  });

  it('does not re-send after the caller aborted', async () => {
    const { baseURL, seen } = await start({ status: 307, headers: { location: '/v2/chat/completions' } });
    const caller = new AbortController();
    caller.abort(new Error('user left'));
    const err = await openaiCompatible({ baseURL, apiKey: 'sk-test' })(
      ask,
      new RequestContext({ signal: caller.signal }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(seen).toHaveLength(0);
  });

  it('leaves a fetch passed in options alone: it gets the init the adapter built, redirect and window unset', async () => {
    const { baseURL } = await start();
    const inits: RequestInit[] = [];
    const fetch: FetchFunction = (input, init) => {
      inits.push(init);
      return globalThis.fetch(input, init);
    };
    await openaiCompatible({ baseURL, apiKey: 'sk-test', fetch })(ask, new RequestContext());
    expect(inits).toHaveLength(1);
    expect(inits[0]?.redirect).toBeUndefined();
    expect('window' in (inits[0] ?? {})).toBe(false);
  });
});

describe('reading an answer body', () => {
  /** A server answering a completion whose text holds `é` and `😀`, with a leading byte order mark, in pieces that split both. */
  async function startSplit(): Promise<string> {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(
        JSON.stringify({
          id: 'c1',
          model: 'gpt-4o',
          choices: [{ index: 0, message: { role: 'assistant', content: 'café 😀' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 2 },
        }),
      ),
    ]);
    const e = bytes.indexOf(Buffer.from('é')) + 1;
    const smile = bytes.indexOf(Buffer.from('😀')) + 2;
    const server: Server = createServer(async (req, res) => {
      await read(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      // Each piece waits for the previous one to leave, so the client reads them as separate chunks.
      const pieces = [bytes.subarray(0, 1), bytes.subarray(1, e), bytes.subarray(e, smile), bytes.subarray(smile)];
      for (const piece of pieces.slice(0, -1)) {
        res.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      res.end(pieces.at(-1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
    return `http://127.0.0.1:${port}/v1`;
  }

  for (const [transport, fetch] of [
    ['the runtime fetch', undefined],
    ['nodeHttpFetch', nodeHttpFetch()],
  ] as const) {
    it(`decodes characters split across chunks and drops a leading byte order mark, as TextDecoder does (${transport})`, async () => {
      const baseURL = await startSplit();
      const res = await openaiCompatible({ baseURL, apiKey: 'sk-test', ...(fetch ? { fetch } : {}) })(
        ask,
        new RequestContext(),
      );
      expect(res.type === 'completion' && res.message.content).toBe('café 😀');
    });
  }
});
