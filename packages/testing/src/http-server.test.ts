import { connect } from 'node:net';
import { type Clock, systemClock } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type WireCompletion, chatBody, errorOf, postChat, readEvents, readRaw, stillPending } from '../test/support';
import { FakeProvider } from './fake-provider';
import type { Fault } from './faults';
import type { FakeServer } from './http-server';
import { sseData } from './sse';

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(fake: FakeProvider): Promise<string> {
  server = await fake.listen();
  return server.baseURL;
}

const streamBody = (model: string, extra: Record<string, unknown> = {}) =>
  chatBody(model, { stream: true, stream_options: { include_usage: true }, ...extra });

const parseEvents = (text: string) => sseData(text).filter((e) => e !== '[DONE]');
const contentOf = (events: string[]) =>
  events
    .map((e) => JSON.parse(e) as { choices: { delta: { content?: string } }[] })
    .map((c) => c.choices[0]?.delta.content ?? '')
    .join('');

/** Sends one streaming request over a raw TCP socket and returns the de-chunked body, read to the close. */
async function rawStream(port: number, model: string): Promise<{ body: string; complete: boolean }> {
  const payload = streamBody(model);
  const socket = connect(port, '127.0.0.1');
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`,
  );
  const parts: Buffer[] = [];
  for await (const part of socket) parts.push(part as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  let rest = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  let body = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol === -1) return { body, complete: false };
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (size === 0) return { body, complete: true };
    body += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

describe('HTTP errors', () => {
  it('429 with Retry-After carries the header and the rate_limit_exceeded body', async () => {
    const fake = new FakeProvider().fail('m', { type: 'rate_limit', retryAfterSeconds: 2 });
    const res = await postChat(await start(fake), chatBody('m'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    const error = await errorOf(res);
    expect(error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });
    expect(error.message).toContain('Rate limit reached for m');
  });

  it('429 without Retry-After sends no Retry-After header', async () => {
    const fake = new FakeProvider().fail('m', { type: 'rate_limit' });
    const res = await postChat(await start(fake), chatBody('m'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
    expect((await errorOf(res)).code).toBe('rate_limit_exceeded');
  });

  it.each([500, 502, 503] as const)('server_error %i answers that status with a server_error body', async (status) => {
    const fake = new FakeProvider().fail('m', { type: 'server_error', status });
    const res = await postChat(await start(fake), chatBody('m'));
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toMatchObject({ type: 'server_error', code: 'server_error' });
  });

  it('a status fault sends the status, the raw Retry-After, extra headers and the given body', async () => {
    const fake = new FakeProvider().fail('m', {
      type: 'status',
      status: 429,
      retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT',
      headers: { 'X-Custom': 'yes' },
      body: { error: { message: 'slow down', type: 'tokens', param: null, code: 'rate_limit_exceeded' } },
    });
    const res = await postChat(await start(fake), chatBody('m'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(res.headers.get('x-custom')).toBe('yes');
    expect((await errorOf(res)).message).toBe('slow down');
  });

  it('context_length answers 400 context_length_exceeded in OpenAI wording', async () => {
    const fake = new FakeProvider().fail('m', { type: 'context_length' });
    const res = await postChat(await start(fake), chatBody('m'));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error).toMatchObject({ type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' });
    expect(error.message).toMatch(/^This model's maximum context length is \d+ tokens/);
  });

  it('a prompt above the configured context window answers context_length_exceeded, a short one is fine', async () => {
    const fake = new FakeProvider().model('small', { contextWindow: 50 });
    const url = await start(fake);
    const long = await postChat(url, chatBody('small', {}, 'x'.repeat(400)));
    expect(long.status).toBe(400);
    expect((await errorOf(long)).message).toContain('resulted in 103 tokens');
    expect((await postChat(url, chatBody('small'))).status).toBe(200);
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['context_length', 'ok']);
  });

  it('content_filter answers 400 content_policy_violation', async () => {
    const fake = new FakeProvider().fail('m', { type: 'content_filter' });
    const res = await postChat(await start(fake), chatBody('m'));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ type: 'invalid_request_error', code: 'content_policy_violation' });
  });

  it('a model that rejects prefill answers 400 when the last message is an assistant message', async () => {
    const fake = new FakeProvider().model('strict', { rejectsPrefill: true });
    const url = await start(fake);
    const messages = [
      { role: 'user', content: 'Write JSON.' },
      { role: 'assistant', content: '{' },
    ];
    const res = await postChat(url, JSON.stringify({ model: 'strict', messages }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ type: 'invalid_request_error', param: 'messages' });
    expect((await postChat(url, chatBody('strict'))).status).toBe(200);
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['prefill_rejected', 'ok']);
  });

  it('downFor answers 503 for that much clock time, then is healthy', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).downFor('m', 30_000);
    const url = await start(fake);
    expect((await postChat(url, chatBody('m'))).status).toBe(503);
    await clock.advance(29_999);
    expect((await postChat(url, chatBody('m'))).status).toBe(503);
    await clock.advance(1);
    expect((await postChat(url, chatBody('m'))).status).toBe(200);
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['down', 'down', 'ok']);
  });
});

describe('HTTP connection faults', () => {
  it('reset destroys the connection before any byte of the response', async () => {
    const fake = new FakeProvider().fail('m', { type: 'reset' });
    const url = await start(fake);
    const err = await postChat(url, chatBody('m')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(fake.attempts[0]?.outcome).toBe('fault:reset');
    expect((await postChat(url, chatBody('m'))).status).toBe(200);
  });

  it('hang never answers: the client gives up by aborting', async () => {
    const fake = new FakeProvider().fail('m', { type: 'hang' });
    const url = await start(fake);
    const controller = new AbortController();
    const pending = postChat(url, chatBody('m'), {}, controller.signal).catch((e: unknown) => e);
    await vi.waitFor(() => expect(fake.attempts[0]?.outcome).toBe('fault:hang'));
    expect(await stillPending(pending)).toBe(true);
    controller.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
  });

  it('close() returns promptly while a request hangs, failing that request', async () => {
    const fake = new FakeProvider().always('m', { type: 'hang' });
    const local = await fake.listen();
    const pending = postChat(local.baseURL, chatBody('m')).catch((e: unknown) => e);
    await vi.waitFor(() => expect(fake.attempts).toHaveLength(1));
    await local.close();
    expect(await pending).toBeInstanceOf(TypeError);
  });

  it('close() cancels a pending real-clock wait, so no timer outlives the server', async () => {
    let sleeping = 0;
    const clock: Clock = {
      now: () => systemClock.now(),
      sleep: async (ms, signal) => {
        sleeping++;
        try {
          await systemClock.sleep(ms, signal);
        } finally {
          sleeping--;
        }
      },
    };
    const fake = new FakeProvider({ clock }).model('m', { latencyMs: 60_000 });
    const local = await fake.listen();
    const pending = postChat(local.baseURL, chatBody('m')).catch((e: unknown) => e);
    await vi.waitFor(() => expect(sleeping).toBe(1));
    await local.close();
    expect(await pending).toBeInstanceOf(TypeError);
    expect(sleeping).toBe(0);
  });

  it('latency delays the answer by clock time and is cancelled when the client leaves', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).model('m', { latencyMs: 500 });
    const url = await start(fake);
    const res = postChat(url, chatBody('m'));
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    await clock.advance(499);
    expect(await stillPending(res)).toBe(true);
    await clock.advance(1);
    expect((await res).status).toBe(200);

    const controller = new AbortController();
    const gone = postChat(url, chatBody('m'), {}, controller.signal).catch(() => 'aborted');
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    controller.abort();
    expect(await gone).toBe('aborted');
    await vi.waitFor(() => expect(clock.pending).toBe(0));
  });

  it('random latency is drawn within [min, max]', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock, seed: 3 }).model('m', { latencyMs: { min: 100, max: 200 } });
    const url = await start(fake);
    for (let i = 0; i < 3; i++) {
      const res = postChat(url, chatBody('m'));
      await vi.waitFor(() => expect(clock.pending).toBe(1));
      await clock.advance(99);
      expect(await stillPending(res)).toBe(true);
      await clock.advance(101);
      expect((await res).status).toBe(200);
    }
  });

  it('slow_first_token sends the headers at once and the body only after the delay (non-streaming)', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).fail('m', { type: 'slow_first_token', delayMs: 5_000 });
    const res = await postChat(await start(fake), chatBody('m'));
    expect(res.status).toBe(200);
    const text = res.text();
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    expect(await stillPending(text)).toBe(true);
    await clock.advance(5_000);
    expect(JSON.parse(await text).object).toBe('chat.completion');
  });
});

describe('HTTP streaming faults', () => {
  it('slow_first_token opens the stream and sends the first chunk only after the delay', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).fail('m', { type: 'slow_first_token', delayMs: 2_000 });
    const res = await postChat(await start(fake), streamBody('m'));
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = reader.read();
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    expect(await stillPending(first)).toBe(true);
    await clock.advance(2_000);
    const chunk = new TextDecoder().decode((await first).value);
    expect(chunk).toContain('"role":"assistant"');
    await reader.cancel();
  });

  it('cut_stream destroys the connection after N content chunks: no finish, no usage, no [DONE]', async () => {
    const fake = new FakeProvider().fail('m', { type: 'cut_stream', afterChunks: 3 });
    const res = await postChat(await start(fake), streamBody('m'));
    const { text, error } = await readRaw(res);
    expect(error).toBeInstanceOf(TypeError);
    const events = sseData(text);
    expect(events).toHaveLength(4); // the role chunk and three content chunks
    expect(text).not.toContain('[DONE]');
    expect(text).not.toContain('"finish_reason":"stop"');
    expect(text).not.toContain('"usage":{');
  });

  it('cut_stream puts exactly the role chunk and N content chunks on the wire, every time, then closes', async () => {
    const fake = new FakeProvider().model('m', { outputTokens: 60 });
    await start(fake);
    for (let run = 0; run < 10; run++) {
      fake.fail('m', { type: 'cut_stream', afterChunks: 40 });
      const { body, complete } = await rawStream(server?.port ?? 0, 'm');
      expect(complete).toBe(false); // no terminating zero-length chunk: the HTTP message was cut
      const events = sseData(body).map((e) => JSON.parse(e) as { choices: { delta: { content?: string } }[] });
      expect(events).toHaveLength(41);
      expect(events.slice(1).every((e) => (e.choices[0]?.delta.content ?? '') !== '')).toBe(true);
    }
  });

  it('stall stops after N chunks for stallMs of clock time, then closes without a finish', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).fail('m', { type: 'stall', afterChunks: 2, stallMs: 10_000 });
    const res = await postChat(await start(fake), streamBody('m'));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const state = { text: '' };
    await readEvents(reader, 3, state);
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    const next = reader.read();
    expect(await stillPending(next)).toBe(true);
    await clock.advance(10_000);
    let r = await next;
    while (!r.done) {
      state.text += new TextDecoder().decode(r.value);
      r = await reader.read();
    }
    expect(sseData(state.text)).toHaveLength(3);
    expect(state.text).not.toContain('[DONE]');
    expect(state.text).not.toContain('"finish_reason":"stop"');
  });

  it('malformed_sse sends one event of invalid JSON, then the rest of the stream normally', async () => {
    const fake = new FakeProvider();
    const url = await start(fake);
    const healthy = parseEvents(await (await postChat(url, streamBody('m'))).text());
    fake.fail('m', { type: 'malformed_sse', atChunk: 2 });
    const text = await (await postChat(url, streamBody('m'))).text();
    const events = sseData(text);
    const bad = events.filter((e) => {
      try {
        JSON.parse(e);
        return false;
      } catch {
        return e !== '[DONE]';
      }
    });
    expect(bad).toHaveLength(1);
    expect(events.indexOf(bad[0] as string)).toBe(3); // after the role chunk and two content chunks
    expect(events.at(-1)).toBe('[DONE]');
    expect(contentOf(events.filter((e) => e !== bad[0] && e !== '[DONE]'))).toBe(contentOf(healthy));
  });

  it('no_done sends the whole stream with finish and usage but without [DONE]', async () => {
    const fake = new FakeProvider().fail('m', { type: 'no_done' });
    const text = await (await postChat(await start(fake), streamBody('m'))).text();
    expect(text).not.toContain('[DONE]');
    const chunks = parseEvents(text).map((e) => JSON.parse(e));
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1).usage.completion_tokens).toBe(24);
  });

  it('chunkDelayMs spaces the chunks by clock time', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).model('m', { chunkDelayMs: 100, outputTokens: 3 });
    const res = await postChat(await start(fake), streamBody('m'));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const state = { text: '' };
    await readEvents(reader, 2, state);
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    expect(sseData(state.text)).toHaveLength(2);
    await clock.runAll();
    await readEvents(reader, 10, state);
    expect(sseData(state.text).at(-1)).toBe('[DONE]');
  });

  it('streams a tool call as tool_calls deltas: id and name first, then argument pieces', async () => {
    const fake = new FakeProvider();
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const text = await (await postChat(await start(fake), streamBody('m', { tools, tool_choice: 'required' }))).text();
    const chunks = parseEvents(text).map((e) => JSON.parse(e));
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
    expect(calls[0].id).toMatch(/^call_/);
    const args = JSON.parse(calls.map((c: { function: { arguments: string } }) => c.function.arguments).join(''));
    expect(typeof args.city).toBe('string');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');
  });
});

describe('HTTP structured-output faults', () => {
  const schema = {
    type: 'object',
    properties: { title: { type: 'string' }, score: { type: 'integer', minimum: 1, maximum: 5 } },
    required: ['title', 'score'],
    additionalProperties: false,
  };
  const format = { response_format: { type: 'json_schema', json_schema: { name: 'review', schema, strict: true } } };

  it('a json_schema request gets JSON with every required key of the right type', async () => {
    const fake = new FakeProvider();
    const json = (await (await postChat(await start(fake), chatBody('m', format))).json()) as WireCompletion;
    const value = JSON.parse(json.choices[0]?.message.content as string);
    expect(typeof value.title).toBe('string');
    expect(Number.isInteger(value.score) && value.score >= 1 && value.score <= 5).toBe(true);
  });

  it('invalid_json_output answers 200 with content that is not JSON', async () => {
    const fake = new FakeProvider().fail('m', { type: 'invalid_json_output' });
    const json = (await (await postChat(await start(fake), chatBody('m', format))).json()) as WireCompletion;
    expect(() => JSON.parse(json.choices[0]?.message.content as string)).toThrow(SyntaxError);
    expect(fake.attempts[0]?.outcome).toBe('fault:invalid_json_output');
  });

  it('schema_violation answers 200 with valid JSON missing a required key', async () => {
    const fake = new FakeProvider().fail('m', { type: 'schema_violation' });
    const json = (await (await postChat(await start(fake), chatBody('m', format))).json()) as WireCompletion;
    const value = JSON.parse(json.choices[0]?.message.content as string);
    expect(Object.keys(value)).not.toContain('title');
  });
});

describe('per-request faults and request validation', () => {
  it('the x-fake-fault header applies a fault to that request only, leaving the queue alone', async () => {
    const fake = new FakeProvider().fail('m', { type: 'server_error', status: 503 });
    const url = await start(fake);
    const fault: Fault = { type: 'rate_limit', retryAfterSeconds: 1 };
    expect((await postChat(url, chatBody('m'), { 'x-fake-fault': JSON.stringify(fault) })).status).toBe(429);
    expect((await postChat(url, chatBody('m'))).status).toBe(503);
    expect((await postChat(url, chatBody('m'))).status).toBe(200);
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['fault:rate_limit', 'fault:server_error', 'ok']);
  });

  it('a bad x-fake-fault header answers 400 naming the header and the field', async () => {
    const fake = new FakeProvider();
    const res = await postChat(await start(fake), chatBody('m'), {
      'x-fake-fault': '{"type":"stall","afterChunks":1}',
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.param).toBe('x-fake-fault');
    expect(error.message).toContain('x-fake-fault.stallMs');
  });

  it('malformed JSON answers 400 invalid_request_error', async () => {
    const fake = new FakeProvider();
    const res = await postChat(await start(fake), '{"model":');
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ type: 'invalid_request_error', param: null });
    expect(fake.attempts[0]?.outcome).toBe('invalid_request');
  });

  it.each([
    ['model', { messages: [{ role: 'user', content: 'x' }] }],
    ['messages', { model: 'm' }],
    ['messages[0].role', { model: 'm', messages: [{ role: 'robot', content: 'x' }] }],
    ['max_tokens', { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: -1 }],
  ])('a body with a bad %s answers 400 naming that field', async (param, payload) => {
    const fake = new FakeProvider();
    const res = await postChat(await start(fake), JSON.stringify(payload));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ type: 'invalid_request_error', param });
  });

  it('GET /v1/models lists the configured models', async () => {
    const fake = new FakeProvider().model('a').model('b');
    const res = await fetch(`${await start(fake)}/models`);
    expect((await res.json()) as unknown).toMatchObject({
      object: 'list',
      data: [{ id: 'a', object: 'model' }, { id: 'b' }],
    });
  });

  it('an unknown path answers 404 with an OpenAI error body', async () => {
    const fake = new FakeProvider();
    const res = await fetch(`${await start(fake)}/embeddings`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).type).toBe('invalid_request_error');
  });

  it('max_tokens cuts the answer with finish_reason length and counts only emitted tokens', async () => {
    const fake = new FakeProvider();
    const url = await start(fake);
    const json = (await (await postChat(url, chatBody('m', { max_tokens: 5 }))).json()) as WireCompletion;
    expect(json.choices[0]?.finish_reason).toBe('length');
    expect(json.usage.completion_tokens).toBe(5);
    const full = (await (await postChat(url, chatBody('m'))).json()) as WireCompletion;
    expect(full.choices[0]?.message.content?.startsWith(json.choices[0]?.message.content as string)).toBe(true);
    const capped = (await (await postChat(url, chatBody('m', { max_completion_tokens: 7 }))).json()) as WireCompletion;
    expect(capped.usage.completion_tokens).toBe(7);
  });
});
