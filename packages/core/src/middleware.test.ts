import { describe, expect, it } from 'vitest';
import { collectStream } from './collect-stream';
import { RequestContext } from './context';
import { compose, type Handler, type Middleware, mapStream } from './middleware';
import type { LlmRequest } from './request';
import type { StreamChunk } from './response';

const req: LlmRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const answer: Handler = async (r) => ({
  type: 'completion',
  id: 'x',
  requestedModel: r.model,
  model: `${r.model}-2025`,
  message: { role: 'assistant', content: 'ok' },
  finishReason: 'stop',
  usage: { inputTokens: 1, outputTokens: 1 },
});
describe('compose', () => {
  it('runs the first listed middleware outermost', async () => {
    const order: string[] = [];
    const tag =
      (name: string): Middleware =>
      (next) =>
      async (r, c) => {
        order.push(`>${name}`);
        const res = await next(r, c);
        order.push(`<${name}`);
        return res;
      };
    await compose(tag('a'), tag('b'), tag('c'))(answer)(req, new RequestContext());
    expect(order).toEqual(['>a', '>b', '>c', '<c', '<b', '<a']);
  });

  it('with no middleware returns the handler unchanged', () => {
    expect(compose()(answer)).toBe(answer);
  });

  it('lets a middleware rewrite the request seen by inner layers', async () => {
    const rename: Middleware = (next) => (r, c) => next({ ...r, model: 'other' }, c);
    const res = await compose(rename)(answer)(req, new RequestContext());
    expect(res.type === 'completion' && res.model).toBe('other-2025');
  });

  it('lets every layer wrap a stream', async () => {
    const streaming: Handler = async () => ({
      type: 'stream',
      requestedModel: 'm',
      chunks: (async function* (): AsyncGenerator<StreamChunk> {
        yield { type: 'text-delta', text: 'a' };
        yield { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } };
      })(),
    });
    const upper: Middleware = (next) => async (r, c) => {
      const res = await next(r, c);
      if (res.type !== 'stream') return res;
      return mapStream(res, async function* (chunks) {
        for await (const ch of chunks) yield ch.type === 'text-delta' ? { ...ch, text: ch.text.toUpperCase() } : ch;
      });
    };
    const res = await compose(upper)(streaming)(req, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected stream');
    const done = await collectStream(res);
    expect(done.message.content).toBe('A');
  });
});
