import { type Clock, EventHub, type LlmRequest, RelError, RequestContext, systemClock } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { openaiCompatible } from '@rel/providers';
import { RetryBudget, retry, timeouts } from '@rel/retry';
import { FakeProvider, type FakeServer } from '@rel/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { router } from '../src/index';
import { drain } from './helpers';

// Acceptance of the fallback issue, over real HTTP against rel's fake provider.

const ask: LlmRequest = { model: 'chat', messages: [{ role: 'user', content: 'Tell me about circuit breakers.' }] };
const quickRetry = (maxAttempts: number, clock: Clock = systemClock) =>
  retry({ maxAttempts, backoff: { type: 'exponential', baseMs: 1, capMs: 5 }, clock });

/**
 * The fake cuts the socket with a TCP reset after writing 40 chunks; the last few may be lost in
 * flight, so the proof is that the failure reports exactly what reached the caller (at most 40).
 */
function expectInterruptedAfterEmitted(out: Awaited<ReturnType<typeof drain>>): RelError {
  expect(out.finish).toBeUndefined();
  const err = out.error as RelError;
  expect(RelError.is(err) && err.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: out.chunks });
  expect(out.chunks).toBeGreaterThan(0);
  expect(out.chunks).toBeLessThanOrEqual(40);
  return err;
}

describe('fallback acceptance over HTTP', () => {
  let fake: FakeProvider;
  let server: FakeServer;
  let provider: ReturnType<typeof openaiCompatible>;

  beforeAll(async () => {
    fake = new FakeProvider();
    server = await fake.listen();
    provider = openaiCompatible({ baseURL: server.baseURL, apiKey: 'test' });
  });
  afterEach(() => fake.reset());
  afterAll(() => server.close());

  it('persistent 503 on the primary: every call is served by the fallback with its model and usage; the primary sees at most 6 attempts', async () => {
    fake.always('gpt-primary', { type: 'server_error', status: 503 });
    fake.model('gpt-backup', { version: 'gpt-backup-2025-01-01' });
    // A retry budget shared by the route's retries: 20% of requests plus a floor of 2 per window.
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0.2, windowMs: 10_000 });
    const route = router({
      targets: [
        {
          name: 'primary',
          handler: provider,
          model: 'gpt-primary',
          middlewares: [retry({ maxAttempts: 3, backoff: { type: 'exponential', baseMs: 1, capMs: 5 }, budget })],
          breaker: { consecutiveFailures: 2, openMs: 60_000 },
        },
        { name: 'backup', handler: provider, model: 'gpt-backup' },
      ],
    });
    const reasons: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ctx = new RequestContext();
      const res = await route(ask, ctx);
      if (res.type !== 'completion') throw new Error('expected a completion');
      expect(res.model).toBe('gpt-backup-2025-01-01');
      expect(res.usage.outputTokens).toBeGreaterThan(0);
      // Only the completion that answered is billed: the failed 503 attempts add nothing.
      expect(ctx.usage).toEqual(res.usage);
      expect(ctx.fallbacks).toHaveLength(1);
      expect(ctx.fallbacks[0]).toMatchObject({ from: 'primary', to: 'backup' });
      reasons.push(ctx.fallbacks[0]!.reason);
      expect(ctx.attempts.filter((a) => a.target === 'primary').every((a) => a.outcome === 'failure')).toBe(true);
    }
    // The first request retries twice (the budget's floor of 2 plus 20% of 1 request); the budget then
    // refuses the second request's retry, so it fails over at once; two failures trip the breaker,
    // and the other requests skip the primary.
    expect(reasons).toEqual([
      'retries_exhausted',
      'provider_unavailable',
      'circuit_open',
      'circuit_open',
      'circuit_open',
    ]);
    expect(fake.attemptsFor('gpt-primary')).toHaveLength(4);
    expect(fake.attemptsFor('gpt-backup')).toHaveLength(5);
    const snapshot = await budget.snapshot();
    expect(snapshot.retries).toBe(2);
    expect(snapshot.retries).toBeLessThanOrEqual(snapshot.allowance);
  });

  it('400 context_length_exceeded: exactly one primary attempt, then the larger-context target', async () => {
    fake.model('gpt-small', { contextWindow: 20 });
    fake.model('gpt-large', { version: 'gpt-large-1m' });
    const route = router({
      targets: [
        { name: 'small', handler: provider, model: 'gpt-small', middlewares: [quickRetry(4)], contextWindow: 20 },
        { name: 'small-twin', handler: provider, model: 'gpt-small', contextWindow: 20 },
        { name: 'large', handler: provider, model: 'gpt-large', contextWindow: 1_000_000 },
      ],
      largerContext: 'large',
    });
    const ctx = new RequestContext();
    const long = { ...ask, messages: [{ role: 'user' as const, content: 'word '.repeat(200) }] };
    const res = await route(long, ctx);
    expect(res.type === 'completion' && res.model).toBe('gpt-large-1m');
    expect(fake.attemptsFor('gpt-small').map((a) => a.outcome)).toEqual(['context_length']);
    expect(fake.attemptsFor('gpt-large')).toHaveLength(1);
    expect(ctx.fallbacks.map((f) => [f.from, f.to, f.reason])).toEqual([['small', 'large', 'context_length_exceeded']]);
  });

  it('400 content filter: exactly one attempt and the provider’s reason surfaced', async () => {
    fake.always('gpt-primary', { type: 'content_filter' });
    const route = router({
      targets: [
        { name: 'primary', handler: provider, model: 'gpt-primary', middlewares: [quickRetry(4)] },
        { name: 'backup', handler: provider, model: 'gpt-backup' },
      ],
    });
    const err = await route(ask, new RequestContext()).catch((e) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('content_filtered');
    expect(RelError.is(err) && err.failure.kind === 'content_filtered' && err.failure.reason).toBeTruthy();
    expect(fake.attempts).toHaveLength(1);
  });

  describe('a stream cut after 40 of 60 tokens', () => {
    const streamAsk = { ...ask, stream: true };

    it('continues on a healthy prefill-capable fallback: the caller gets the complete answer', async () => {
      fake.model('gpt-primary', { outputTokens: 60, chunkDelayMs: 2 });
      fake.fail('gpt-primary', { type: 'cut_stream', afterChunks: 40 });
      const route = router({
        targets: [
          { name: 'primary', handler: provider, model: 'gpt-primary', middlewares: [quickRetry(3)] },
          { name: 'backup', handler: provider, model: 'gpt-backup', supportsPrefill: true },
        ],
      });
      const ctx = new RequestContext();
      const out = await drain(await route(streamAsk, ctx));
      expect(out.error).toBeUndefined();
      expect(out.finish).toMatchObject({ type: 'finish', finishReason: 'stop', model: 'gpt-backup-2024-08-06' });
      const prefill = fake.attemptsFor('gpt-backup')[0]?.messages.at(-1);
      expect(prefill?.role).toBe('assistant');
      // The caller saw the primary's 40 chunks, then the continuation, appended.
      expect(out.text.startsWith(prefill?.content ?? '\u0000')).toBe(true);
      expect(out.text.length).toBeGreaterThan((prefill?.content ?? '').length);
      expect(ctx.fallbacks.map((f) => f.reason)).toEqual(['stream_interrupted']);
    });

    it('without a prefill-capable fallback ends with a clean stream_interrupted error, never a finish', async () => {
      fake.model('gpt-primary', { outputTokens: 60, chunkDelayMs: 2 });
      fake.fail('gpt-primary', { type: 'cut_stream', afterChunks: 40 });
      const route = router({
        targets: [
          { name: 'primary', handler: provider, model: 'gpt-primary' },
          { name: 'backup', handler: provider, model: 'gpt-backup' },
        ],
      });
      const out = await drain(await route(streamAsk, new RequestContext()));
      expect(out.finish).toBeUndefined();
      expectInterruptedAfterEmitted(out);
      expect(fake.attemptsFor('gpt-backup')).toHaveLength(0);
    });

    it('a fallback that rejects the prefill never hides the original interruption', async () => {
      fake.model('gpt-primary', { outputTokens: 60, chunkDelayMs: 2 });
      fake.model('gpt-backup', { rejectsPrefill: true });
      fake.fail('gpt-primary', { type: 'cut_stream', afterChunks: 40 });
      const route = router({
        targets: [
          { name: 'primary', handler: provider, model: 'gpt-primary' },
          { name: 'backup', handler: provider, model: 'gpt-backup', supportsPrefill: true },
        ],
      });
      const out = await drain(await route(streamAsk, new RequestContext()));
      const err = expectInterruptedAfterEmitted(out);
      expect(RelError.is(err.cause) && err.cause.failure.kind).toBe('invalid_request');
      expect(fake.attemptsFor('gpt-backup').map((a) => a.outcome)).toEqual(['prefill_rejected']);
    });

    it('a stream that stalls after 40 chunks is cut by the idle timeout and continued on the fallback', async () => {
      // No delay between chunks and a roomy idle limit: on a loaded machine a 2 ms pacing with a
      // 100 ms limit tripped mid-stream (6 of 40 chunks), so only the stall itself may trip it.
      fake.model('gpt-primary', { outputTokens: 60 });
      fake.fail('gpt-primary', { type: 'stall', afterChunks: 40, stallMs: 10_000 });
      const route = router({
        targets: [
          {
            name: 'primary',
            handler: provider,
            model: 'gpt-primary',
            middlewares: [timeouts({ default: { idleMs: 400 } })],
          },
          { name: 'backup', handler: provider, model: 'gpt-backup', supportsPrefill: true },
        ],
      });
      const out = await drain(await route(streamAsk, new RequestContext()));
      expect(out.error).toBeUndefined();
      expect(out.finish).toMatchObject({ finishReason: 'stop', model: 'gpt-backup-2024-08-06' });
      expect(fake.attemptsFor('gpt-backup')[0]?.messages.at(-1)?.role).toBe('assistant');
    });

    it('a stream that stalls with no fallback able to continue ends with a clean error', async () => {
      // No delay between chunks and a roomy idle limit: on a loaded machine a 2 ms pacing with a
      // 100 ms limit tripped mid-stream (6 of 40 chunks), so only the stall itself may trip it.
      fake.model('gpt-primary', { outputTokens: 60 });
      fake.fail('gpt-primary', { type: 'stall', afterChunks: 40, stallMs: 10_000 });
      const route = router({
        targets: [
          {
            name: 'primary',
            handler: provider,
            model: 'gpt-primary',
            middlewares: [timeouts({ default: { idleMs: 400 } })],
          },
        ],
      });
      const out = await drain(await route(streamAsk, new RequestContext()));
      const err = expectInterruptedAfterEmitted(out);
      expect(out.chunks).toBe(40);
      expect(RelError.is(err.cause) && err.cause.failure.kind).toBe('timeout');
    });

    it('a stream that stalls before its first token restarts on the fallback transparently', async () => {
      fake.fail('gpt-primary', { type: 'stall', afterChunks: 0, stallMs: 10_000 });
      const route = router({
        targets: [
          {
            name: 'primary',
            handler: provider,
            model: 'gpt-primary',
            middlewares: [timeouts({ default: { firstTokenMs: 100, idleMs: 100 } })],
          },
          { name: 'backup', handler: provider, model: 'gpt-backup' },
        ],
      });
      const ctx = new RequestContext();
      const out = await drain(await route(streamAsk, ctx));
      expect(out.error).toBeUndefined();
      expect(out.finish).toMatchObject({ model: 'gpt-backup-2024-08-06' });
      expect(fake.attemptsFor('gpt-backup')[0]?.messages.at(-1)?.role).toBe('user');
      expect(ctx.fallbacks.map((f) => f.reason)).toEqual(['timeout']);
    });
  });

  it('a primary down for 60 s, called every 4 s: the fallback serves the outage, the primary is back within 30 s of recovery', async () => {
    const clock = new FakeClock(0);
    const timed = new FakeProvider({ clock });
    const timedServer = await timed.listen();
    try {
      const http = openaiCompatible({ baseURL: timedServer.baseURL, apiKey: 'test' });
      const events = new EventHub();
      const states: string[] = [];
      events.on('breaker-state', (e) => states.push(`${clock.now()}:${e.from}->${e.to}`));
      const route = router({
        clock,
        events,
        targets: [
          {
            name: 'primary',
            handler: http,
            model: 'gpt-primary',
            middlewares: [quickRetry(2)],
            breaker: { consecutiveFailures: 2, openMs: 10_000 },
          },
          { name: 'backup', handler: http, model: 'gpt-backup' },
        ],
      });
      timed.downFor('gpt-primary', 60_000);
      const servedBy: [number, string][] = [];
      for (let t = 0; t <= 120_000; t += 4_000) {
        const res = await route(ask, new RequestContext({ clock }));
        if (res.type !== 'completion') throw new Error('expected a completion');
        servedBy.push([t, res.model.startsWith('gpt-primary') ? 'primary' : 'backup']);
        await clock.advance(4_000);
      }
      expect(servedBy.filter(([t]) => t < 60_000).every(([, who]) => who === 'backup')).toBe(true);
      const back = servedBy.find(([t, who]) => t >= 60_000 && who === 'primary');
      expect(back?.[0]).toBeLessThanOrEqual(90_000);
      expect(servedBy.filter(([t]) => t >= (back?.[0] ?? 0)).every(([, who]) => who === 'primary')).toBe(true);
      // The primary was probed, not hammered: far fewer attempts than calls during the outage.
      expect(timed.attemptsFor('gpt-primary').filter((a) => a.at < 60_000).length).toBeLessThan(15);
      expect(states.some((s) => s.endsWith('half_open->closed'))).toBe(true);
    } finally {
      await timedServer.close();
    }
  });
});
