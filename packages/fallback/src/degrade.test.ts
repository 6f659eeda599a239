import { EventHub, type LlmResponse, RelError, RequestContext, compose } from '@rel/core';
import { describe, expect, it } from 'vitest';
import { completion, drain, request, scripted } from '../test/helpers';
import { DEGRADED_MODEL, degrade } from './degrade';

const down = scripted([{ fail: { kind: 'provider_unavailable', status: 503 } }]);

function ctxFor(feature: string, critical: boolean) {
  const events = new EventHub();
  const seen: string[] = [];
  events.on('degraded', (e) => seen.push(`degraded:${e.feature}:${e.reason}`));
  events.on('safe-default', (e) => seen.push(`safe-default:${e.feature}:${e.reason}`));
  return { ctx: new RequestContext({ feature: { name: feature, critical }, events }), seen };
}

describe('degrade', () => {
  it('answers a non-critical feature with its static degraded message, flagged and emitted', async () => {
    const handler = compose(
      degrade({ features: { tips: { degraded: { type: 'static', text: 'No tips right now.' } } } }),
    )(down);
    const { ctx, seen } = ctxFor('tips', false);
    const res = await handler(request, ctx);
    expect(res.type === 'completion' && [res.model, res.message.content, res.usage]).toEqual([
      DEGRADED_MODEL,
      'No tips right now.',
      { inputTokens: 0, outputTokens: 0 },
    ]);
    expect(ctx.degraded).toEqual({ reason: 'provider_unavailable' });
    expect(seen).toEqual(['degraded:tips:provider_unavailable']);
  });

  it('passes a feature without fallbacks straight through, even one named like an Object method', async () => {
    const answer = completion('hello');
    const failure = new RelError({ kind: 'provider_unavailable', status: 503 });
    const mw = degrade({ features: { tips: { degraded: { type: 'static', text: 'No tips right now.' } } } });
    for (const name of ['search', 'constructor', 'toString']) {
      const { ctx, seen } = ctxFor(name, false);
      expect(await mw(async () => answer)(request, ctx)).toBe(answer);
      await expect(mw(async () => Promise.reject(failure))(request, ctx)).rejects.toBe(failure);
      expect([ctx.degraded, ctx.safeDefault, seen]).toEqual([undefined, undefined, []]);
    }
  });

  it('gives a critical feature the typed failure instead of a degraded answer', async () => {
    const handler = compose(degrade({ features: { checkout: { degraded: { type: 'static', text: 'later' } } } }))(down);
    const { ctx } = ctxFor('checkout', true);
    const err = await handler(request, ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('provider_unavailable');
    expect(ctx.degraded).toBeUndefined();
  });

  it('serves a cheaper route, naming the model that answered', async () => {
    const cheap = scripted([{ ok: true }]);
    const handler = compose(degrade({ features: { tips: { degraded: { type: 'route', handler: cheap } } } }))(down);
    const res = await handler(request, ctxFor('tips', false).ctx);
    expect(res.type === 'completion' && res.model).toBe('alias-v1');
    expect(cheap.seen).toHaveLength(1);
  });

  it('serves a cached answer with zero usage, and falls through when the cache has none', async () => {
    const cached = completion('gpt-a', 'from yesterday');
    const lookup = (req: { messages: { content: string | null }[] }) =>
      req.messages[0]?.content === 'hello' ? cached : undefined;
    const handler = compose(
      degrade({ features: { tips: { degraded: { type: 'cached', lookup }, safeDefault: { text: 'default' } } } }),
    )(down);
    const hit = await handler(request, ctxFor('tips', false).ctx);
    expect(hit.type === 'completion' && [hit.message.content, hit.usage.outputTokens]).toEqual(['from yesterday', 0]);
    const { ctx, seen } = ctxFor('tips', false);
    const miss = await handler({ ...request, messages: [{ role: 'user', content: 'other' }] }, ctx);
    expect(miss.type === 'completion' && miss.message.content).toBe('default');
    expect(seen).toEqual(['safe-default:tips:provider_unavailable']);
  });

  it('returns a feature’s safe default on a hard failure and flags it in the context', async () => {
    const handler = compose(degrade({ features: { summary: { safeDefault: { text: 'Summary unavailable.' } } } }))(
      down,
    );
    const { ctx, seen } = ctxFor('summary', true);
    const res = await handler(request, ctx);
    expect(res.type === 'completion' && [res.model, res.message.content]).toEqual([
      'rel-safe-default',
      'Summary unavailable.',
    ]);
    expect(ctx.safeDefault).toEqual({ reason: 'provider_unavailable' });
    expect(seen).toEqual(['safe-default:summary:provider_unavailable']);
  });

  it('returns a JSON safe default only when it is valid against the request’s response schema', async () => {
    const schema = { type: 'object', required: ['items'], properties: { items: { type: 'array' } } };
    const handler = compose(degrade({ features: { list: { safeDefault: { json: { items: [] } } } } }))(down);
    const withSchema = { ...request, responseFormat: { type: 'json_schema' as const, name: 'list', schema } };
    const ok = await handler(withSchema, ctxFor('list', true).ctx);
    expect(ok.type === 'completion' && JSON.parse(ok.message.content ?? '')).toEqual({ items: [] });
    const other = {
      ...withSchema,
      responseFormat: { ...withSchema.responseFormat, schema: { type: 'object', required: ['total'] } },
    };
    const { ctx } = ctxFor('list', true);
    const err = await handler(other, ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('provider_unavailable');
    expect(ctx.safeDefault).toBeUndefined();
  });

  it('rejects at configuration a JSON safe default that fails its own schema, naming the field', () => {
    expect(() =>
      degrade({
        features: {
          list: { safeDefault: { json: { items: 3 }, schema: { properties: { items: { type: 'array' } } } } },
        },
      }),
    ).toThrow(/degrade\.features\.list\.safeDefault\.json/);
  });

  it('leaves the caller’s own errors and cancellations alone', async () => {
    const bad = scripted([{ fail: { kind: 'invalid_request', param: 'messages' } }]);
    const handler = compose(degrade({ features: { tips: { degraded: { type: 'static', text: 'x' } } } }))(bad);
    const err = await handler(request, ctxFor('tips', false).ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('invalid_request');
  });

  it('substitutes a stream that fails before its first chunk, and never one that already emitted', async () => {
    const mw = degrade({ features: { tips: { degraded: { type: 'static', text: 'fallback text' } } } });
    const early = compose(mw)(scripted([{ stream: ['a', 'b'], cutAfter: 0 }]));
    const out = await drain(await early({ ...request, stream: true }, ctxFor('tips', false).ctx));
    expect([out.text, out.error]).toEqual(['fallback text', undefined]);
    const late = compose(mw)(scripted([{ stream: ['a', 'b'], cutAfter: 1 }]));
    const out2 = await drain(await late({ ...request, stream: true }, ctxFor('tips', false).ctx));
    expect(out2.text).toBe('a');
    expect(RelError.is(out2.error) && out2.error.failure.kind).toBe('stream_interrupted');
  });

  it('closes the inner stream when the caller closes the stream before reading it', async () => {
    let closed = false;
    const inner = async (): Promise<LlmResponse> => ({
      type: 'stream',
      requestedModel: 'gpt-a',
      chunks: {
        [Symbol.asyncIterator]: () => ({
          next: async () => ({ done: false as const, value: { type: 'text-delta' as const, text: 'x' } }),
          return: async () => {
            closed = true;
            return { done: true as const, value: undefined };
          },
        }),
      },
    });
    const handler = compose(degrade({ features: { tips: { degraded: { type: 'static', text: 'later' } } } }))(inner);
    const res = await handler({ ...request, stream: true }, ctxFor('tips', false).ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    await res.chunks[Symbol.asyncIterator]().return?.();
    expect(closed).toBe(true);
  });

  it('answers a streaming request whose route failed to open with a degraded stream', async () => {
    const handler = compose(degrade({ features: { tips: { degraded: { type: 'static', text: 'later' } } } }))(down);
    const out = await drain(await handler({ ...request, stream: true }, ctxFor('tips', false).ctx));
    expect(out.text).toBe('later');
    expect(out.finish).toMatchObject({ model: DEGRADED_MODEL });
  });

  it('passes through features it does not know', async () => {
    const handler = compose(degrade({ features: {} }))(down);
    const err = await handler(request, ctxFor('tips', false).ctx).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('provider_unavailable');
  });
});
