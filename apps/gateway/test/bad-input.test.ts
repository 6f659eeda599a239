import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, type Stack, startStack } from './helpers';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const auth = { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' };
const hi = [{ role: 'user', content: 'hi' }];

async function post(body: string, headers: Record<string, string> = auth) {
  const res = await fetch(`${stack.gateway.url}/v1/chat/completions`, { method: 'POST', headers, body });
  const json = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string } };
  return { status: res.status, error: json.error, headers: res.headers };
}

/** Sends raw bytes and resolves with what the server answered before closing. */
function raw(bytes: string, pauseMs?: number): Promise<string> {
  const url = new URL(stack.gateway.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let out = '';
    socket.on('data', (d) => {
      out += d.toString();
    });
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.write(bytes);
    if (pauseMs === undefined) return;
    // keep the connection open without sending the rest: a slow client
    setTimeout(() => socket.destroyed || socket.end(), pauseMs);
  });
}

describe('bad input answers a 4xx with a clear reason and never reaches the provider', () => {
  it('malformed JSON: 400 invalid_request', async () => {
    const r = await post('{"model": "chat", "messages": [');
    expect(r.status).toBe(400);
    expect(r.error.type).toBe('invalid_request');
    expect(r.error.message).toMatch(/malformed JSON/);
  });

  it('a body over the size limit: 413', async () => {
    const r = await post(JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(30_000) }] }));
    expect(r.status).toBe(413);
    expect(r.error.message).toMatch(/over 20000 bytes/);
  });

  it('an unknown field: 400 naming it', async () => {
    const r = await post(JSON.stringify({ model: 'chat', messages: hi, temprature: 0.2 }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('temprature');
    expect(r.error.message).toMatch(/unknown or unsupported field/);
  });

  it('a mistyped field: 400 naming it', async () => {
    const r = await post(JSON.stringify({ model: 'chat', messages: hi, temperature: 'hot' }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('temperature');
  });

  it('a wrong role: 400 naming messages.0.role', async () => {
    const r = await post(JSON.stringify({ model: 'chat', messages: [{ role: 'wizard', content: 'hi' }] }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('messages.0.role');
  });

  it('an absurd max_tokens: 400 naming it', async () => {
    const r = await post(JSON.stringify({ model: 'chat', messages: hi, max_tokens: 10_000_000_000 }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('max_tokens');
    const negative = await post(JSON.stringify({ model: 'chat', messages: hi, max_tokens: -1 }));
    expect(negative.status).toBe(400);
  });

  it('an unknown model: 404 model_not_found', async () => {
    const r = await post(JSON.stringify({ model: 'gpt-9', messages: hi }));
    expect(r.status).toBe(404);
    expect(r.error.code).toBe('model_not_found');
    expect(r.error.message).toMatch(/unknown model "gpt-9"/);
  });

  it('a missing key: 401 before the body is even read', async () => {
    const r = await post(JSON.stringify({ model: 'chat', messages: hi }), { 'content-type': 'application/json' });
    expect(r.status).toBe(401);
    expect(r.error.type).toBe('unauthorized');
  });

  it('a wrong content type, method or path: 400, 405, 404', async () => {
    expect((await post('hi', { ...auth, 'content-type': 'text/plain' })).status).toBe(400);
    const get = await fetch(`${stack.gateway.url}/v1/chat/completions`, { headers: auth });
    expect(get.status).toBe(405);
    const nowhere = await fetch(`${stack.gateway.url}/v2/everything`);
    expect(nowhere.status).toBe(404);
    expect(((await nowhere.json()) as { error: { type: string } }).error.type).toBe('invalid_request');
  });

  it('a client that stops sending its body is cut with 408', async () => {
    const head = [
      'POST /v1/chat/completions HTTP/1.1',
      'host: x',
      `authorization: Bearer ${KEYS.acme}`,
      'content-type: application/json',
      'content-length: 100',
      '',
      '{"model":',
    ].join('\r\n');
    const answer = await raw(head, 2_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toMatch(/not received within 300 ms/);
  });

  it('a client that never finishes its headers is cut', async () => {
    const answer = await raw('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n', 3_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('no error body ever carries a stack trace', async () => {
    const r = await post('{"model": 1}');
    expect(JSON.stringify(r.error)).not.toMatch(/at .*\.ts:\d+/);
    expect(stack.fake.attempts).toHaveLength(0);
    const health = await fetch(`${stack.gateway.url}/healthz`);
    expect(health.status).toBe(200);
  });
});

describe('request bodies, however they arrive, are read whole', () => {
  it("one connection: a body in the head's packet, a body split over two writes, then a chunked body over the limit: 200, 200, 413", async () => {
    const url = new URL(stack.gateway.url);
    const body = JSON.stringify({ model: 'chat', messages: hi });
    const head = (extra: string) =>
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEYS.acme}\r\ncontent-type: application/json\r\n${extra}\r\n`;
    const socket = connect(Number(url.port), url.hostname);
    let out = '';
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('data', (d) => {
      out += d.toString();
    });
    const answers = async (n: number) => {
      while ((out.match(/HTTP\/1\.1 \d{3} /g) ?? []).length < n) await new Promise((r) => setTimeout(r, 5));
    };
    const attempts = stack.fake.attempts.length;
    socket.write(`${head(`content-length: ${body.length}\r\n`)}${body}`);
    await answers(1);
    socket.write(`${head(`content-length: ${body.length}\r\n`)}${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 30));
    socket.write(body.slice(10));
    await answers(2);
    const big = 'x'.repeat(25_000);
    socket.write(`${head('transfer-encoding: chunked\r\n')}${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
    await closed;
    expect([...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1])).toEqual(['200', '200', '413']);
    expect(out).toMatch(/over 20000 bytes/);
    expect(stack.fake.attempts.length - attempts).toBe(2);
  });
});
