import { describe, expect, it } from 'vitest';
import { RequestContext } from './context';

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
