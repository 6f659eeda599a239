import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-provider';
import type { FakeServer } from './http-server';

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function client(fake: FakeProvider, maxRetries = 0): Promise<OpenAI> {
  server = await fake.listen();
  return new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test', maxRetries, logLevel: 'off' });
}

const messages = [{ role: 'user' as const, content: 'Name a river.' }];

describe('the official openai client against the fake', () => {
  it('reads a non-streaming completion with usage', async () => {
    const fake = new FakeProvider().model('gpt-primary');
    const openai = await client(fake);
    const res = await openai.chat.completions.create({ model: 'gpt-primary', messages, max_tokens: 8 });
    expect(res.model).toBe('gpt-primary-2024-08-06');
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.usage?.completion_tokens).toBe(8);
    expect(res.choices[0]?.message.content?.split(' ')).toHaveLength(8);
  });

  it('reads a stream to the same text, with usage in the last chunk', async () => {
    const fake = new FakeProvider();
    const openai = await client(fake);
    const whole = await openai.chat.completions.create({ model: 'm', messages });
    const stream = await openai.chat.completions.create({
      model: 'm',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(usage).toEqual(whole.usage);
  });

  it('assembles a streamed tool call with the stream helper', async () => {
    const fake = new FakeProvider();
    const openai = await client(fake);
    const stream = openai.chat.completions.stream({
      model: 'm',
      messages,
      tools: [
        {
          type: 'function',
          function: {
            name: 'pick',
            parameters: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
          },
        },
      ],
      tool_choice: 'required',
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('pick');
    expect(call?.type === 'function' && Number.isInteger(JSON.parse(call.function.arguments).n)).toBe(true);
  });

  it('sees a 429 as RateLimitError, and its retry succeeds with the same idempotency key', async () => {
    const fake = new FakeProvider().fail('m', { type: 'rate_limit' });
    const strict = await client(fake);
    await expect(strict.chat.completions.create({ model: 'm', messages })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    await server?.close();

    // The client honours `retry-after-ms` (OpenAI's own header), which keeps the real wait tiny.
    fake.fail('m', { type: 'status', status: 429, headers: { 'retry-after-ms': '10' } });
    const retrying = await client(fake, 1);
    const res = await retrying.chat.completions.create(
      { model: 'm', messages },
      { headers: { 'Idempotency-Key': 'idem-42' } },
    );
    expect(res.object).toBe('chat.completion');
    expect(fake.attempts.slice(-2).map((a) => [a.outcome, a.idempotencyKey])).toEqual([
      ['fault:status', 'idem-42'],
      ['ok', 'idem-42'],
    ]);
  });

  it('fails on a malformed SSE event, as the client does against a real provider', async () => {
    const fake = new FakeProvider().fail('m', { type: 'malformed_sse', atChunk: 1 });
    const openai = await client(fake);
    const stream = await openai.chat.completions.create({ model: 'm', messages, stream: true });
    const read = async () => {
      for await (const _ of stream) {
        // drain
      }
    };
    await expect(read()).rejects.toThrow();
  });
});
