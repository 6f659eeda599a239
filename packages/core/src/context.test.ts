import { describe, expect, it } from 'vitest';
import { RequestContext, newId } from './context';
import { EventHub } from './events';
import { FakeClock } from './testing/fake-clock';

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

  it('makes ids of the first 24 hex digits of a random UUID v4 (version and variant digits in place), all distinct', () => {
    const ids = Array.from({ length: 500 }, () => newId('req'));
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{7}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newId('x'.repeat(300))).toMatch(/^x{300}_[0-9a-f]{24}$/);
    expect(newId('requête')).toMatch(/^requête_[0-9a-f]{24}$/);
  });

  it('keeps the attempt log, verdicts, degradation, safe default and downgrade on the shared records', () => {
    const ctx = new RequestContext({ feature: { name: 'summaries', critical: false } });
    const child = ctx.derive({ attempt: 1 });
    child.recordAttempt({
      target: 'openai:gpt-4o',
      model: 'gpt-4o',
      number: 1,
      outcome: 'failure',
      failure: 'timeout',
      startedAt: 0,
      durationMs: 30,
    });
    child.recordVerdict({ name: 'pii', stage: 'input', action: 'redact', categories: ['email'], latencyMs: 0.4 });
    child.markDegraded('provider_unavailable');
    child.markSafeDefault('circuit_open');
    child.requestDowngrade('org:acme');
    expect(ctx.attempts.map((a) => [a.target, a.outcome, a.failure, a.durationMs])).toEqual([
      ['openai:gpt-4o', 'failure', 'timeout', 30],
    ]);
    expect(ctx.verdicts[0]?.action).toBe('redact');
    expect(ctx.degraded).toEqual({ reason: 'provider_unavailable' });
    expect(ctx.safeDefault).toEqual({ reason: 'circuit_open' });
    expect(ctx.downgrade).toEqual({ scope: 'org:acme' });
    expect(child.feature).toEqual({ name: 'summaries', critical: false });
  });

  it('defaults to a critical feature, the chat operation and a signal that never aborts', () => {
    const ctx = new RequestContext();
    expect(ctx.feature).toEqual({ name: 'default', critical: true });
    expect(ctx.operation).toBe('chat');
    expect(ctx.signal.aborted).toBe(false);
    expect(ctx.principal).toEqual({});
    expect(ctx.attributes.size).toBe(0);
  });

  it('measures the time left against its clock, Infinity without a deadline', async () => {
    const clock = new FakeClock(1_000);
    const ctx = new RequestContext({ clock, deadline: 1_500 });
    expect(ctx.remainingMs()).toBe(500);
    await clock.advance(200);
    expect(ctx.derive({}).remainingMs()).toBe(300);
    expect(new RequestContext({ clock }).remainingMs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives a derived context a narrower signal while keeping the clock, events and ids', () => {
    const events = new EventHub();
    const clock = new FakeClock(0);
    const ctx = new RequestContext({ clock, events, principal: { userId: 'u', orgId: 'o', tier: 'pro' } });
    const attempt = new AbortController();
    const child = ctx.derive({ signal: attempt.signal });
    attempt.abort();
    expect(child.signal.aborted).toBe(true);
    expect(ctx.signal.aborted).toBe(false);
    expect(child.clock).toBe(clock);
    expect(child.events).toBe(events);
    expect(child.principal).toEqual({ userId: 'u', orgId: 'o', tier: 'pro' });
    expect(child.derive({}).signal).toBe(attempt.signal);
  });

  it('gives one default signal per logical request, the same whichever context reads it first', () => {
    const root = new RequestContext();
    const child = root.derive({ deadline: 10 });
    const grandchild = child.derive({ attempt: 2 });
    expect(grandchild.signal).toBe(root.signal);
    expect(child.signal).toBe(root.signal);
    expect(root.signal).toBe(root.signal);
    expect(new RequestContext().signal).not.toBe(root.signal);
    const other = new RequestContext();
    const otherChild = other.derive({});
    expect(other.signal).toBe(otherChild.signal);
    expect(other.derive({ attempt: 1 }).requestId).toBe(other.requestId);
    expect(grandchild.deadline).toBe(10);
    expect(grandchild.attempt).toBe(2);
  });
});
