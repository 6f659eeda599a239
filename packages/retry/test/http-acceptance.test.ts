/**
 * Acceptance over real HTTP: @rel/providers' `openaiCompatible` talking to @rel/testing's fake
 * provider on 127.0.0.1, wrapped in this package's middlewares. Time is a FakeClock shared by the
 * policies and the fake provider: the tests move it only when everyone is waiting, so no test
 * sleeps for real and the attempt log's `at` times are exact.
 */
import {
  EventHub,
  type Handler,
  RelError,
  type RelEvents,
  RequestContext,
  type StreamChunk,
  collectStream,
  compose,
  seededRandom,
} from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { openaiCompatible } from '@rel/providers';
import { FakeProvider, type FakeServer } from '@rel/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { retry } from '../src/retry-middleware';
import { timeouts } from '../src/timeouts-middleware';
import { observe } from './helpers';

const MODEL = 'gpt-primary';
const ask = { model: MODEL, messages: [{ role: 'user' as const, content: 'Say something reliable.' }] };

let clock: FakeClock;
let fake: FakeProvider;
let server: FakeServer;
let provider: Handler;

beforeAll(async () => {
  clock = new FakeClock(0);
  fake = new FakeProvider({ clock });
  server = await fake.listen();
  provider = openaiCompatible({ baseURL: server.baseURL, apiKey: 'test-key' });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  fake.reset();
});

const realTick = () => new Promise((r) => setTimeout(r, 1));

/** Runs `p` to completion, advancing the fake clock only while nothing but timers is pending. */
async function drive<T>(p: Promise<T>) {
  const o = observe(p);
  for (let i = 0; !o.settled; i++) {
    if (i > 5_000) throw new Error('drive: the request never settled');
    await realTick();
    if (!o.settled && clock.pending > 0) await clock.runAll();
  }
  return o;
}

/** Waits in real time (I/O only, the clock stands still) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 5_000) throw new Error('until: condition never held');
    await realTick();
  }
}

function newContext() {
  const events = new EventHub();
  const seen = {
    retry: [] as RelEvents['retry'][],
    giveUp: [] as RelEvents['give-up'][],
    timeout: [] as RelEvents['timeout'][],
  };
  events.on('retry', (e) => seen.retry.push(e));
  events.on('give-up', (e) => seen.giveUp.push(e));
  events.on('timeout', (e) => seen.timeout.push(e));
  return { ctx: new RequestContext({ clock, events }), seen };
}

function sameKeyOnEveryAttempt(ctx: RequestContext) {
  expect(fake.attempts.length).toBeGreaterThan(0);
  for (const a of fake.attempts) expect(a.idempotencyKey).toBe(ctx.idempotencyKey);
}

describe('retry over HTTP against the fake provider', () => {
  it('429 with Retry-After: 2 once: exactly one retry, no sooner than 2 s after the first attempt', async () => {
    fake.fail(MODEL, { type: 'rate_limit', retryAfterSeconds: 2 });
    const { ctx, seen } = newContext();
    const run = await drive(retry({ maxAttempts: 4 })(provider)(ask, ctx));
    expect(run.error).toBeUndefined();
    expect(run.value?.type).toBe('completion');
    const [first, second, ...rest] = fake.attempts;
    expect(rest).toEqual([]);
    expect([first?.outcome, second?.outcome]).toEqual(['fault:rate_limit', 'ok']);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2_000);
    expect(seen.retry).toEqual([{ requestId: ctx.requestId, attempt: 2, delayMs: 2_000, reason: 'rate_limited' }]);
    sameKeyOnEveryAttempt(ctx);
  });

  it('429 forever without Retry-After, default backoff with maxAttempts 6: at most 4 attempts in the first 3 s, 6 in all, then rate_limited', async () => {
    // Seeded draws, and the worst case: every jitter draw at its minimum (the shortest waits).
    for (const random of [seededRandom(1), seededRandom(2), seededRandom(3), () => 0]) {
      fake.reset();
      fake.always(MODEL, { type: 'rate_limit' });
      const { ctx, seen } = newContext();
      const start = clock.now();
      // Only the attempt limit is raised to the 6; the backoff is the default one.
      const policy = retry({ maxAttempts: 6, random });
      const run = await drive(policy(provider)(ask, ctx));
      expect(RelError.is(run.error) && run.error.failure.kind).toBe('rate_limited');
      const times = fake.attempts.map((a) => a.at - start);
      expect(times.filter((t) => t <= 3_000).length).toBeLessThanOrEqual(4);
      expect(times).toHaveLength(6);
      expect(seen.giveUp).toEqual([
        {
          requestId: ctx.requestId,
          attempts: times.length,
          failure: expect.objectContaining({ kind: 'rate_limited' }),
        },
      ]);
      expect(ctx.attempts.every((a) => a.outcome === 'failure' && a.failure === 'rate_limited')).toBe(true);
      sameKeyOnEveryAttempt(ctx);
    }
  });

  it('429 forever with the default policy: the same bounds hold', async () => {
    fake.always(MODEL, { type: 'rate_limit' });
    const { ctx } = newContext();
    const start = clock.now();
    const run = await drive(retry()(provider)(ask, ctx));
    expect(RelError.is(run.error) && run.error.failure.kind).toBe('rate_limited');
    const times = fake.attempts.map((a) => a.at - start);
    expect(times.filter((t) => t <= 3_000).length).toBeLessThanOrEqual(4);
    expect(times.length).toBeLessThanOrEqual(6);
  });

  it('500 once then healthy: success on the second attempt', async () => {
    fake.fail(MODEL, { type: 'server_error' });
    const { ctx } = newContext();
    const run = await drive(retry()(provider)(ask, ctx));
    expect(run.value?.type === 'completion' && run.value.message.content).toBeTruthy();
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['fault:server_error', 'ok']);
    expect(ctx.attempts.map((a) => [a.target, a.number, a.outcome, a.failure])).toEqual([
      ['openai:gpt-primary', 1, 'failure', 'provider_unavailable'],
      ['openai:gpt-primary', 2, 'success', undefined],
    ]);
    sameKeyOnEveryAttempt(ctx);
  });

  it('a connection reset before any byte: retried and answered', async () => {
    fake.fail(MODEL, { type: 'reset' });
    const { ctx } = newContext();
    const run = await drive(retry()(provider)(ask, ctx));
    expect(run.error).toBeUndefined();
    expect(run.value?.type).toBe('completion');
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['fault:reset', 'ok']);
    sameKeyOnEveryAttempt(ctx);
  });

  it('never retries a 400 context_length_exceeded', async () => {
    fake.fail(MODEL, { type: 'context_length' });
    const { ctx } = newContext();
    const run = await drive(retry()(provider)(ask, ctx));
    expect(RelError.is(run.error) && run.error.failure.kind).toBe('context_length_exceeded');
    expect(fake.attempts).toHaveLength(1);
  });

  it('a stream cut before its first chunk is retried and delivered whole', async () => {
    fake.fail(MODEL, { type: 'cut_stream', afterChunks: 0 });
    const { ctx } = newContext();
    const run = await drive(retry()(provider)({ ...ask, stream: true }, ctx));
    const res = run.value!;
    if (res.type !== 'stream') throw new Error('expected a stream');
    const done = await collectStream(res);
    expect(done.finishReason).toBe('stop');
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['fault:cut_stream', 'ok']);
    sameKeyOnEveryAttempt(ctx);
  });

  it('a stream cut after chunks reached the caller surfaces stream_interrupted and is never retried', async () => {
    fake.fail(MODEL, { type: 'cut_stream', afterChunks: 3 });
    const { ctx } = newContext();
    const res = await retry()(provider)({ ...ask, stream: true }, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const err = await collectStream(res).catch((e: unknown) => e);
    expect(RelError.is(err) && err.failure.kind).toBe('stream_interrupted');
    expect(fake.attempts).toHaveLength(1);
  });

  it('hedges a hung attempt: the extra attempt answers, both carried the same Idempotency-Key', async () => {
    fake.fail(MODEL, { type: 'hang' });
    const { ctx } = newContext();
    const run = await drive(retry({ hedge: { delayMs: 200 } })(provider)(ask, ctx));
    expect(run.value?.type).toBe('completion');
    expect(fake.attempts.map((a) => a.outcome).sort()).toEqual(['fault:hang', 'ok']);
    expect(ctx.attempts.filter((a) => a.hedge)).toHaveLength(1);
    sameKeyOnEveryAttempt(ctx);
  });
});

describe('timeouts over HTTP against the fake provider', () => {
  it('a provider that never answers is abandoned at the configured total timeout', async () => {
    fake.always(MODEL, { type: 'hang' });
    const { ctx, seen } = newContext();
    const start = clock.now();
    const run = observe(compose(timeouts({ operations: { chat: { totalMs: 5_000 } } }), retry())(provider)(ask, ctx));
    await until(() => fake.attempts.length === 1);
    await clock.advance(4_999);
    expect(run.settled).toBe(false);
    await clock.advance(1);
    await until(() => run.settled);
    expect(RelError.is(run.error) && run.error.failure).toEqual({ kind: 'timeout', phase: 'total', limitMs: 5_000 });
    expect(clock.now() - start).toBe(5_000);
    expect(seen.timeout).toEqual([{ requestId: ctx.requestId, operation: 'chat', phase: 'total', limitMs: 5_000 }]);
    expect(fake.attempts).toHaveLength(1);
  });

  it('a slow first token trips the first-token limit; retried inside the limit, the next attempt answers', async () => {
    fake.fail(MODEL, { type: 'slow_first_token', delayMs: 30_000 });
    const { ctx, seen } = newContext();
    const handler = compose(
      retry({ backoff: { type: 'decorrelated', baseMs: 100, capMs: 100 } }),
      timeouts({ default: { firstTokenMs: 2_000, idleMs: 5_000 } }),
    )(provider);
    const run = observe(handler({ ...ask, stream: true }, ctx));
    await until(() => fake.attempts.length === 1);
    await clock.advance(2_000);
    expect(seen.timeout).toEqual([
      { requestId: ctx.requestId, operation: 'chat', phase: 'first_token', limitMs: 2_000 },
    ]);
    await clock.advance(100);
    await until(() => run.settled);
    const res = run.value!;
    if (res.type !== 'stream') throw new Error('expected a stream');
    expect((await collectStream(res)).finishReason).toBe('stop');
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['fault:slow_first_token', 'ok']);
    expect(ctx.attempts.map((a) => a.failure)).toEqual(['timeout', undefined]);
    sameKeyOnEveryAttempt(ctx);
  });

  it('a stall mid-stream trips the idle limit and is surfaced, not retried', async () => {
    fake.fail(MODEL, { type: 'stall', afterChunks: 2, stallMs: 60_000 });
    const { ctx, seen } = newContext();
    const handler = compose(retry(), timeouts({ default: { firstTokenMs: 2_000, idleMs: 1_000 } }))(provider);
    const run = observe(handler({ ...ask, stream: true }, ctx));
    await until(() => run.settled);
    const res = run.value!;
    if (res.type !== 'stream') throw new Error('expected a stream');
    const got: StreamChunk[] = [];
    const consumed = observe(
      (async () => {
        for await (const c of res.chunks) got.push(c);
      })(),
    );
    await until(() => got.length >= 2);
    await realTick();
    await clock.advance(999);
    expect(consumed.settled).toBe(false);
    await clock.advance(1);
    await until(() => consumed.settled);
    expect(RelError.is(consumed.error) && consumed.error.failure).toEqual({
      kind: 'timeout',
      phase: 'idle',
      limitMs: 1_000,
    });
    expect(seen.timeout.map((e) => e.phase)).toEqual(['idle']);
    expect(fake.attempts).toHaveLength(1);
  });
});
