import { compose, type ChatMessage, type LlmRequest, RelError, RequestContext } from '@rel/core';
import { FakeProvider } from '@rel/testing';
import { describe, expect, it } from 'vitest';
import { completionOf, contextWithEvents, scriptedModel, streamOf } from '../../test/support';
import { caps } from './caps';

const req = (extra: Partial<LlmRequest> = {}): LlmRequest => ({
  model: 'gpt-primary',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

/** A conversation after `turns` assistant tool-call turns of `perTurn` calls each. */
function agentLoop(turns: number, perTurn = 1): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'user', content: 'do the task' }];
  for (let t = 0; t < turns; t++) {
    const calls = Array.from({ length: perTurn }, (_, i) => ({ id: `c${t}_${i}`, name: 'search', arguments: '{}' }));
    messages.push({ role: 'assistant', content: null, toolCalls: calls });
    for (const c of calls) messages.push({ role: 'tool', toolCallId: c.id, content: 'result' });
  }
  return messages;
}

describe('caps', () => {
  it('clamps max_tokens to the smaller of tier and route caps, and sets it when absent', async () => {
    const model = scriptedModel(() => 'ok');
    const handler = compose(
      caps({ maxTokens: { default: 1000, byTier: { free: 200 }, byRoute: { 'gpt-primary': 500 } } }),
    )(model);
    await handler(req({ maxTokens: 4000 }), new RequestContext({ principal: { tier: 'free' } }));
    await handler(req(), new RequestContext({ principal: { tier: 'pro' } }));
    await handler(req({ model: 'other', maxTokens: 50 }), new RequestContext());
    await handler(req({ model: 'other' }), new RequestContext());
    expect(model.seen.map((r) => r.maxTokens)).toEqual([200, 500, 50, 1000]);
  });

  it('records a sanitize verdict when it clamps and a pass when it does not', async () => {
    const { ctx, guardrailEvents } = contextWithEvents();
    await compose(caps({ maxTokens: { default: 100 } }))(scriptedModel(() => 'ok'))(req({ maxTokens: 500 }), ctx);
    expect(ctx.verdicts[0]).toMatchObject({ name: 'caps', action: 'sanitize', categories: ['max_tokens'] });
    expect(guardrailEvents).toHaveLength(1);
    const other = new RequestContext();
    await compose(caps({ maxTokens: { default: 100 } }))(scriptedModel(() => 'ok'))(req({ maxTokens: 10 }), other);
    expect(other.verdicts[0]).toMatchObject({ action: 'pass' });
  });

  it('stops a runaway agent loop at the maximum tool-call depth with limit_exceeded', async () => {
    const fake = new FakeProvider();
    const handler = compose(caps({ maxToolDepth: 3 }))(fake.handler);
    await handler(req({ messages: agentLoop(3) }), new RequestContext());
    const error = await handler(req({ messages: agentLoop(4) }), new RequestContext()).catch((e) => e);
    expect(RelError.is(error) && error.failure).toEqual({
      kind: 'limit_exceeded',
      limit: 'tool_depth',
      value: 4,
      max: 3,
    });
    expect(fake.attempts).toHaveLength(1);
  });

  it('counts tool calls in the history and in the answer, streamed or not', async () => {
    const handler = compose(caps({ maxToolCalls: 4 }))(async (r) =>
      r.stream
        ? streamOf(r, [], ['{}'])
        : completionOf(r, null, {
            message: { role: 'assistant', content: null, toolCalls: [{ id: 'x', name: 'search', arguments: '{}' }] },
          }),
    );
    const overHistory = await handler(req({ messages: agentLoop(1, 5) }), new RequestContext()).catch((e) => e);
    expect(RelError.is(overHistory) && overHistory.failure).toMatchObject({ limit: 'tool_calls', value: 5, max: 4 });
    await handler(req({ messages: agentLoop(3) }), new RequestContext());
    const overAnswer = await handler(req({ messages: agentLoop(4) }), new RequestContext()).catch((e) => e);
    expect(RelError.is(overAnswer) && overAnswer.failure).toMatchObject({ limit: 'tool_calls', value: 5, max: 4 });
    const res = await handler(req({ messages: agentLoop(4), stream: true }), new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const streamed = await (async () => {
      for await (const _ of res.chunks);
    })().catch((e) => e);
    expect(RelError.is(streamed) && streamed.failure).toMatchObject({ kind: 'limit_exceeded', limit: 'tool_calls' });
  });

  it('rejects a bad option naming the field', () => {
    expect(() => caps({ maxToolDepth: 0 })).toThrow(/maxToolDepth/);
    expect(() => caps({ maxTokens: { byTier: { free: -1 } } })).toThrow(/maxTokens/);
  });
});
