import { getEventListeners } from 'node:events';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type LlmRequest, RelError, RequestContext, type StreamingCompletion, compose } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { FakeProvider } from '@rel/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OtelHarness, otelHarness } from '../test/otel-harness';
import { drive } from '../test/scenario';
import { createTelemetry } from './telemetry';

const ask: LlmRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello there' }], stream: true };

let otel: OtelHarness;
let clock: FakeClock;
let fake: FakeProvider;
beforeEach(() => {
  otel = otelHarness();
  clock = new FakeClock(1_700_000_000_000);
  fake = new FakeProvider({ clock });
});
afterEach(() => otel.shutdown());

function setup(maxInFlight?: number) {
  const telemetry = createTelemetry({
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
    jsonLines: otel.jsonLines,
    hashSalt: 'abandon-salt',
    ...(maxInFlight === undefined ? {} : { maxInFlight }),
  });
  const handler = compose(telemetry.request, telemetry.attempt({ provider: 'openai' }))(fake.handler);
  return { telemetry, handler };
}

async function open(handler: ReturnType<typeof setup>['handler'], ctx: RequestContext): Promise<StreamingCompletion> {
  const res = await handler(ask, ctx);
  if (res.type !== 'stream') throw new Error('expected a stream');
  return res;
}

const byKind = async () => {
  const spans = await otel.spans();
  return {
    request: spans.filter((s) => s.kind === SpanKind.INTERNAL),
    attempt: spans.filter((s) => s.kind === SpanKind.CLIENT),
  };
};

describe('a stream that is not read to its end', () => {
  it('ends both spans as abandoned, without an error, when the signal aborts before any read', async () => {
    const { telemetry, handler } = setup();
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal, clock });
    await open(handler, ctx);
    expect(telemetry.inFlight).toBe(1);
    expect((await byKind()).request).toEqual([]);

    controller.abort();
    const { request, attempt } = await byKind();
    expect(request.map((s) => [s.attributes['rel.abandoned'], s.status.code])).toEqual([
      ['signal_aborted', SpanStatusCode.UNSET],
    ]);
    expect(attempt.map((s) => [s.attributes['rel.abandoned'], s.status.code])).toEqual([
      ['signal_aborted', SpanStatusCode.UNSET],
    ]);
    expect(telemetry.inFlight).toBe(0);
    expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
    expect(otel.jsonRecords().map((r) => r['rel.error.class'])).toEqual([null]);
  });

  it('ends a stream paused between chunks as abandoned, and a later read records nothing twice', async () => {
    const { telemetry, handler } = setup();
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal, clock });
    const it = (await open(handler, ctx)).chunks[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: 'text-delta' });
    controller.abort();
    const { request } = await byKind();
    expect(request[0]?.attributes['rel.abandoned']).toBe('signal_aborted');
    expect(request[0]?.attributes['gen_ai.response.time_to_first_chunk']).toBe(0);

    const late = await it.next().catch((e: unknown) => e);
    expect(RelError.is(late) && late.failure.kind).toBe('cancelled');
    expect((await byKind()).request).toHaveLength(1);
    expect(otel.rawLines).toHaveLength(1);
    expect(telemetry.inFlight).toBe(0);
  });

  it('reports an abort while the consumer waits on a chunk as the failure it saw, not as abandoned', async () => {
    fake.model('gpt-4o', { chunkDelayMs: 1000 });
    const { handler } = setup();
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal, clock });
    const it = (await open(handler, ctx)).chunks[Symbol.asyncIterator]();
    await it.next();
    const waiting = it.next().catch((e: unknown) => e);
    controller.abort();
    expect(RelError.is(await waiting)).toBe(true);
    const { request } = await byKind();
    expect(request[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'cancelled' });
    expect(request[0]?.attributes['rel.abandoned']).toBeUndefined();
  });

  it('keeps at most maxInFlight requests: the oldest unread stream is ended as evicted', async () => {
    const { telemetry, handler } = setup(2);
    const first = await open(handler, new RequestContext({ requestId: 'req_1', clock }));
    await open(handler, new RequestContext({ requestId: 'req_2', clock }));
    expect(telemetry.inFlight).toBe(2);
    await open(handler, new RequestContext({ requestId: 'req_3', clock }));
    expect(telemetry.inFlight).toBe(2);
    const { request } = await byKind();
    expect(request.map((s) => [s.attributes['rel.request.id'], s.attributes['rel.abandoned']])).toEqual([
      ['req_1', 'evicted'],
    ]);
    // Reading the evicted stream later still works, and records nothing a second time.
    await drive(
      clock,
      (async () => {
        for await (const _ of first.chunks);
      })(),
    );
    expect((await byKind()).request).toHaveLength(1);
    expect(otel.rawLines).toHaveLength(1);
    expect(telemetry.inFlight).toBe(2);
  });

  it('marks a stream that ends without its finish chunk as interrupted', async () => {
    const telemetry = createTelemetry({ tracerProvider: otel.tracerProvider, jsonLines: otel.jsonLines });
    const handler = telemetry.request(async (req) => ({
      type: 'stream',
      requestedModel: req.model,
      provider: 'openai',
      chunks: (async function* () {
        yield { type: 'text-delta' as const, text: 'half an answer' };
      })(),
    }));
    const res = await handler(ask, new RequestContext({ clock }));
    if (res.type !== 'stream') throw new Error('expected a stream');
    for await (const _ of res.chunks);
    const { request } = await byKind();
    expect(request.map((s) => [s.status, s.attributes['error.type']])).toEqual([
      [{ code: SpanStatusCode.ERROR, message: 'stream_interrupted' }, 'stream_interrupted'],
    ]);
    expect(otel.jsonRecords().map((r) => r['rel.error.class'])).toEqual(['unavailable']);
  });

  it('closing a stream before its first read opens nothing and ends nothing, and stops the abort watch', async () => {
    const telemetry = createTelemetry({ tracerProvider: otel.tracerProvider, jsonLines: otel.jsonLines });
    let opened = false;
    const handler = telemetry.request(async (req) => ({
      type: 'stream',
      requestedModel: req.model,
      provider: 'openai',
      chunks: {
        [Symbol.asyncIterator]() {
          opened = true;
          return { next: async () => ({ done: true as const, value: undefined }) };
        },
      },
    }));
    const controller = new AbortController();
    const ctx = new RequestContext({ signal: controller.signal, clock });
    const res = await handler(ask, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    expect(await res.chunks[Symbol.asyncIterator]().return?.()).toEqual({ done: true, value: undefined });
    expect(opened).toBe(false);
    expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
    controller.abort();
    expect((await byKind()).request).toEqual([]);
    expect(telemetry.inFlight).toBe(1);
  });

  it('refuses a maxInFlight that is not a positive integer, naming it', () => {
    expect(() => createTelemetry({ maxInFlight: 0 })).toThrow(/maxInFlight/);
  });
});
