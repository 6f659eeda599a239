import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KEYS, type Stack, startStack } from './helpers';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => stack.fake.reset());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hi = [{ role: 'user' as const, content: 'Tell me about otters.' }];

async function readStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = '';
  let model = '';
  let finish: string | null = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    model = chunk.model;
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { text, model, finish };
}

describe('streaming', () => {
  it('continues a stream cut after its first chunks on the fallback, with the text so far as prefill', async () => {
    stack.fake.always('gpt-primary', { type: 'cut_stream', afterChunks: 3 });
    const stream = await stack.client().chat.completions.create({ model: 'chat', messages: hi, stream: true });
    const { text, finish } = await readStream(stream);
    expect(finish).toBe('stop');
    const backup = stack.fake.attemptsFor('gpt-backup');
    expect(backup).toHaveLength(1);
    const prefill = backup[0]?.messages.at(-1);
    expect(prefill?.role).toBe('assistant');
    expect(text.startsWith(prefill?.content ?? '\u0000')).toBe(true);
  });

  it('fails over when the first token does not come in time', async () => {
    stack.fake.always('gpt-primary', { type: 'slow_first_token', delayMs: 5_000 });
    const stream = await stack.client().chat.completions.create({ model: 'fast', messages: hi, stream: true });
    const { model, finish } = await readStream(stream);
    expect(model).toBe(stack.fake.versionOf('gpt-backup'));
    expect(finish).toBe('stop');
    expect(stack.fake.attemptsFor('gpt-primary').map((a) => a.outcome)).toEqual(['fault:slow_first_token']);
  });

  it('ends a stream that cannot be completed with an in-band error event, never a silent truncation', async () => {
    stack.fake.always('gpt-primary', { type: 'cut_stream', afterChunks: 20 }); // past the 64-character hold-back
    stack.fake.always('gpt-backup', { type: 'cut_stream', afterChunks: 0 });
    const stream = await stack.client().chat.completions.create({ model: 'chat', messages: hi, stream: true });
    let error: unknown;
    let text = '';
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    } catch (e) {
      error = e;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe('unavailable');
  });

  it('sends the events it has at once, not when more arrive: the text before a stall reaches the caller during it', async () => {
    stack.fake.always('gpt-primary', { type: 'stall', afterChunks: 20, stallMs: 900 }); // past the hold-back, under idleMs
    const res = await fetch(`${stack.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.acme}` },
      body: JSON.stringify({ model: 'chat', messages: hi, stream: true }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let received = '';
    const duringStall = (async () => {
      while (!received.includes('"content":')) {
        const next = await reader.read();
        if (next.done) return 'ended';
        received += decoder.decode(next.value, { stream: true });
      }
      return 'text';
    })();
    // The stall lasts 900 ms; the text sent before it is there well before it ends.
    expect(await Promise.race([duringStall, sleep(450).then(() => 'still waiting')])).toBe('text');
    await reader.cancel();
  });

  it('cuts a stream that stalls past the idle limit, with an in-band error after the text so far', async () => {
    stack.fake.always('gpt-primary', { type: 'stall', afterChunks: 20, stallMs: 3_000 });
    const stream = await stack.client().chat.completions.create({ model: 'fast', messages: hi, stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(stack.fake.attemptsFor('gpt-backup')).toHaveLength(0); // no prefill-capable fallback on `fast`
  });

  it('answers 504 timeout when no route answers within the first-token limits', async () => {
    stack.fake.always('gpt-primary', { type: 'hang' });
    stack.fake.always('gpt-backup', { type: 'hang' });
    const res = await fetch(`${stack.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', messages: hi, stream: true }),
    });
    expect(res.status).toBe(504);
    const body = (await res.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'timeout', code: 'timeout' });
    expect(stack.fake.attempts.map((a) => a.model)).toEqual(['gpt-primary', 'gpt-backup']);
  });

  it('cancels the upstream call when the client goes away mid-stream', async () => {
    stack.fake.model('gpt-primary', { chunkDelayMs: 20, outputTokens: 200 });
    const controller = new AbortController();
    const stream = await stack
      .client()
      .chat.completions.create({ model: 'chat', messages: hi, stream: true }, { signal: controller.signal });
    let n = 0;
    stack.logs.length = 0;
    for await (const _ of stream) if (++n === 3) controller.abort(); // the openai client ends quietly
    expect(n).toBeLessThan(20);
    // the gateway records the request as cancelled by the caller
    for (let i = 0; i < 50 && !stack.logs.some((l) => l.includes('"rel.request"')); i++) await sleep(10);
    const line = JSON.parse(stack.logs.find((l) => l.includes('"rel.request"')) ?? '{}');
    expect(line['rel.error.class']).toBe('cancelled');
    // the gateway stays healthy and serves the next request
    const res = await stack.client().chat.completions.create({ model: 'chat', messages: hi });
    expect(res.choices[0]?.message.content).toBeTruthy();
  });
});

describe('degradation and output policy', () => {
  it("serves a non-critical feature's degraded answer when every route is down", async () => {
    stack.fake.always('gpt-primary', { type: 'server_error', status: 503 });
    stack.fake.always('gpt-backup', { type: 'server_error', status: 503 });
    const res = await stack
      .client()
      .chat.completions.create({ model: 'fast', messages: hi }, { headers: { 'x-rel-feature': 'suggestions' } });
    expect(res.choices[0]?.message.content).toBe('No suggestions right now.');
    expect(res.model).toBe('rel-degraded');
    const critical = await stack
      .client()
      .chat.completions.create({ model: 'fast', messages: hi })
      .catch((e: unknown) => e);
    expect((critical as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((critical as InstanceType<typeof OpenAI.APIError>).type).toBe('unavailable');
  });

  it('blocks an answer with a denied phrase: 422 output_blocked', async () => {
    stack.fake.fail('gpt-primary', {
      type: 'status',
      status: 200,
      body: {
        id: 'chatcmpl-deny',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-primary-2024-08-06',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'This memo is INTERNAL   use only.' },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
      },
    });
    const e = await stack
      .client()
      .chat.completions.create({ model: 'chat', messages: hi })
      .catch((error: unknown) => error);
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(422);
    expect((e as InstanceType<typeof OpenAI.APIError>).type).toBe('output_blocked');
  });
});

describe('operations', () => {
  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${stack.gateway.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${stack.gateway.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('serves Prometheus metrics with the GenAI operation duration', async () => {
    await stack.client().chat.completions.create({ model: 'chat', messages: hi });
    const res = await fetch(`${stack.gateway.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/gen_ai_client_operation_duration/);
    expect(text).toMatch(/gen_ai_request_model="chat"/);
    // Guardrail evaluations are tallied in memory and read at the scrape: still a counter, per verdict.
    expect(text).toContain('# TYPE rel_guardrail_evaluations_total counter');
    const passes =
      /rel_guardrail_evaluations_total\{rel_guardrail_name="injection",rel_guardrail_stage="input",rel_guardrail_verdict="pass"[^}]*\} (\d+)/.exec(
        text,
      );
    expect(Number(passes?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('writes one JSON log line per request with no key, prompt or PII in it', async () => {
    const email = 'private.person@example.org';
    const secretPrompt = 'the launch code is tangerine';
    stack.logs.length = 0;
    await stack.client().chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: `Write to ${email}: ${secretPrompt}` }],
    });
    await stack
      .client(KEYS.limited)
      .chat.completions.create({ model: 'secret', messages: [{ role: 'user', content: email }] })
      .catch(() => {});
    const lines = stack.logs.filter((l) => l.includes('"rel.request"'));
    expect(lines).toHaveLength(2);
    // the refusal (403: this key may not use `secret`) has its own record, through the same telemetry
    expect(JSON.parse(lines[1] ?? '{}')).toEqual(
      expect.objectContaining({
        'rel.org.id': 'acme',
        'gen_ai.request.model': 'secret',
        'rel.error.class': 'unauthorized',
      }),
    );
    const record = JSON.parse(lines[0] ?? '{}');
    expect(record['rel.org.id']).toBe('acme');
    expect(record['gen_ai.request.model']).toBe('chat');
    const all = stack.logs.join('\n');
    for (const secret of [email, 'tangerine', KEYS.acme, KEYS.limited, 'sk-upstream-secret']) {
      expect(all).not.toContain(secret);
    }
  });
});
