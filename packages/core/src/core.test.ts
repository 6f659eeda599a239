import { describe, expect, it } from 'vitest';
import { compose, mapStream, type Handler, type Middleware } from './middleware';
import { RequestContext } from './context';
import { type RelFailure, failureInfo } from './failure';
import { RelError, toRelError } from './rel-error';
import { EventHub } from './events';
import { collectStream } from './collect-stream';
import { seededRandom } from './random';
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

describe('collectStream', () => {
  it('fails with stream_interrupted when no finish chunk arrives', async () => {
    const chunks = (async function* (): AsyncGenerator<StreamChunk> {
      yield { type: 'text-delta', text: 'partial' };
    })();
    const err = await collectStream({ type: 'stream', requestedModel: 'm', chunks }).catch((e) => e);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 1 });
  });

  it('merges tool-call deltas by index', async () => {
    const chunks = (async function* (): AsyncGenerator<StreamChunk> {
      yield { type: 'tool-call-delta', index: 0, id: 'c1', name: 'get', argumentsDelta: '{"a"' };
      yield { type: 'tool-call-delta', index: 0, argumentsDelta: ':1}' };
      yield { type: 'finish', finishReason: 'tool_calls', model: 'v1' };
    })();
    const c = await collectStream({ type: 'stream', requestedModel: 'm', chunks });
    expect(c.message.toolCalls).toEqual([{ id: 'c1', name: 'get', arguments: '{"a":1}' }]);
    expect(c.message.content).toBeNull();
    expect(c.model).toBe('v1');
  });
});

describe('RequestContext', () => {
  it('shares records between a context and the contexts derived from it', () => {
    const ctx = new RequestContext({ principal: { orgId: 'acme' } });
    const child = ctx.derive({ attempt: 2 });
    child.recordUsage({ inputTokens: 10, outputTokens: 5, cachedInputTokens: 2 });
    child.recordUsage({ inputTokens: 1, outputTokens: 1 });
    child.recordFallback({ from: 'a', to: 'b', reason: 'timeout', at: 0 });
    child.recordCost({ inputUsd: 0.1, outputUsd: 0.2, totalUsd: 0.3 });
    child.setAttribute('k', 1);
    expect(ctx.usage).toEqual({ inputTokens: 11, outputTokens: 6, cachedInputTokens: 2 });
    expect(ctx.fallbacks).toHaveLength(1);
    expect(ctx.cost.totalUsd).toBeCloseTo(0.3);
    expect(ctx.getAttribute('k')).toBe(1);
    expect(child.requestId).toBe(ctx.requestId);
    expect(child.idempotencyKey).toBe(ctx.idempotencyKey);
    expect(child.attempt).toBe(2);
    expect(ctx.attempt).toBeUndefined();
  });

  it('never widens a deadline when deriving', () => {
    const ctx = new RequestContext({ deadline: 1000 });
    expect(ctx.derive({ deadline: 5000 }).deadline).toBe(1000);
    expect(ctx.derive({ deadline: 500 }).deadline).toBe(500);
    expect(new RequestContext().derive({ deadline: 7 }).deadline).toBe(7);
  });

  it('numbers attempts across derived contexts', () => {
    const ctx = new RequestContext();
    expect(ctx.nextAttemptNumber()).toBe(1);
    expect(ctx.derive({}).nextAttemptNumber()).toBe(2);
  });

  it('generates distinct request ids and idempotency keys, and keeps a given key', () => {
    const a = new RequestContext();
    const b = new RequestContext({ idempotencyKey: 'mine' });
    expect(a.requestId).not.toBe(b.requestId);
    expect(a.idempotencyKey).toMatch(/^idem_[0-9a-f]{24}$/);
    expect(b.idempotencyKey).toBe('mine');
  });
});

describe('failure taxonomy', () => {
  const cases: Array<[RelFailure, boolean, string, number]> = [
    [{ kind: 'rate_limited', retryAfterMs: 2000 }, true, 'rate_limited', 429],
    [{ kind: 'timeout', phase: 'first_token' }, true, 'timeout', 504],
    [{ kind: 'provider_unavailable', status: 503 }, true, 'unavailable', 503],
    [{ kind: 'provider_error', status: 200, body: 'x' }, false, 'internal', 502],
    [{ kind: 'invalid_request', param: 'messages' }, false, 'invalid_request', 400],
    [{ kind: 'unauthorized', origin: 'client', status: 403 }, false, 'unauthorized', 403],
    [{ kind: 'unauthorized', origin: 'provider', status: 401 }, false, 'internal', 502],
    [{ kind: 'context_length_exceeded' }, false, 'invalid_request', 400],
    [{ kind: 'content_filtered', reason: 'violence' }, false, 'output_blocked', 400],
    [{ kind: 'malformed_output', raw: '{', issues: ['bad'] }, false, 'internal', 502],
    [
      { kind: 'guardrail_blocked', stage: 'input', guardrail: 'injection', categories: [] },
      false,
      'input_rejected',
      400,
    ],
    [{ kind: 'guardrail_blocked', stage: 'output', guardrail: 'deny', categories: [] }, false, 'output_blocked', 422],
    [{ kind: 'budget_exceeded', scope: 'org:a', limitUsd: 1, spentUsd: 1 }, false, 'quota_exceeded', 429],
    [{ kind: 'quota_exceeded', scope: 'user:u', limit: 'rpm' }, false, 'rate_limited', 429],
    [{ kind: 'limit_exceeded', limit: 'tool_depth', value: 9, max: 8 }, false, 'invalid_request', 400],
    [{ kind: 'circuit_open', target: 't' }, false, 'unavailable', 503],
    [{ kind: 'cancelled' }, false, 'cancelled', 499],
    [{ kind: 'stream_interrupted', emittedChunks: 3 }, false, 'unavailable', 502],
    [{ kind: 'internal', message: 'x' }, false, 'internal', 500],
  ];
  it.each(cases)('classifies %o', (failure, retryable, userClass, httpStatus) => {
    expect(failureInfo(failure)).toEqual({ retryable, userClass, httpStatus });
  });

  it('recognises a RelError from another copy of the module by its brand', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('rel.error')]: true, failure: { kind: 'cancelled' } });
    expect(RelError.is(foreign)).toBe(true);
    expect(RelError.is(new Error('x'))).toBe(false);
  });

  it('maps an abort to cancelled and keeps a timeout carried as the abort reason', () => {
    const c = new AbortController();
    c.abort();
    expect(toRelError(new DOMException('x', 'AbortError'), c.signal).failure.kind).toBe('cancelled');
    const t = new AbortController();
    const timeout = new RelError({ kind: 'timeout', phase: 'total' });
    t.abort(timeout);
    expect(toRelError(new DOMException('x', 'AbortError'), t.signal)).toBe(timeout);
    const wrapped = toRelError(new TypeError('boom'));
    expect(wrapped.failure).toEqual({ kind: 'internal', message: 'boom' });
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});

describe('EventHub', () => {
  it('delivers to listeners, unsubscribes, and isolates a throwing listener', () => {
    const errors: unknown[] = [];
    const hub = new EventHub({ onListenerError: (e) => errors.push(e) });
    const seen: number[] = [];
    hub.on('retry', () => {
      throw new Error('listener bug');
    });
    const off = hub.on('retry', (e) => seen.push(e.attempt));
    hub.emit('retry', { attempt: 1, delayMs: 10, reason: 'timeout' });
    off();
    hub.emit('retry', { attempt: 2, delayMs: 10, reason: 'timeout' });
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(2);
    expect(hub.has('fallback')).toBe(false);
  });
});

describe('seededRandom', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
  });
});
