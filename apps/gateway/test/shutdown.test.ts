import { BudgetPolicy } from '@rel/budget';
import { MemoryStore, RelError, RequestContext } from '@rel/core';
import { describe, expect, it } from 'vitest';
import { budgetConfigOf } from '../src/config';
import { KEYS, startStack } from './helpers';

describe('in-process shutdown', () => {
  it('cancels requests still running after the grace period and releases their reservations', async () => {
    const store = new MemoryStore();
    const stack = await startStack(
      { server: { port: 0, shutdownGraceMs: 100 }, tiers: { pro: { concurrent: 1 }, free: { rpm: 3 } } },
      { store },
    );
    stack.fake.always('gpt-primary', { type: 'hang' });
    const pending = fetch(`${stack.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    }).then(
      (r) => r.status,
      () => 'closed' as const,
    );
    for (let i = 0; i < 100 && stack.fake.attempts.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stack.fake.attempts).toHaveLength(1);
    await stack.close();
    expect([499, 'closed']).toContain(await pending);

    // The org's one concurrent slot is free again: a reservation in the same store passes.
    const policy = new BudgetPolicy({ ...budgetConfigOf(stack.gateway.config), store });
    const ctx = new RequestContext({ principal: { orgId: 'acme', tier: 'pro' } });
    const req = { model: 'chat', messages: [{ role: 'user' as const, content: 'hi' }] };
    const reservation = await policy.reserve(req, ctx).catch((e: unknown) => e);
    expect(RelError.is(reservation)).toBe(false);
  });

  it('refuses new requests while draining and answers /readyz 503', async () => {
    const stack = await startStack({ server: { port: 0, shutdownGraceMs: 2_000 } });
    stack.fake.model('gpt-primary', { latencyMs: 300 });
    const url = stack.gateway.url;
    const inflight = fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    for (let i = 0; i < 100 && stack.fake.attempts.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const closing = stack.close();
    expect((await inflight).status).toBe(200);
    await closing;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
