import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { type Completion, EventHub, type LlmRequest, RelError, RequestContext, compose } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { FakeProvider } from '@rel/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OtelHarness, otelHarness } from '../test/otel-harness';
import { BUDGET_LIMIT_USD, PRICES, charging, drive, fallingBack, passingGuardrail, retrying } from '../test/scenario';
import { idHasher } from './hash-id';
import { DURATION_BUCKETS, TOKEN_USAGE_BUCKETS } from './semconv';
import { createTelemetry } from './telemetry';

const SALT = 'test-salt-0001';
const hash = idHasher(SALT);
const START = 1_700_000_000_000;
type HistogramDataPoint = HistogramMetricData['dataPoints'][number];

const request: LlmRequest = {
  model: 'smart',
  messages: [
    { role: 'system', content: 'You answer briefly.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
  maxTokens: 256,
  temperature: 0.2,
};

let otel: OtelHarness;
let clock: FakeClock;
let hub: EventHub;
let openai: FakeProvider;
let anthropic: FakeProvider;

beforeEach(() => {
  otel = otelHarness();
  clock = new FakeClock(START);
  hub = new EventHub();
  openai = new FakeProvider({ clock });
  openai.model('gpt-4o', { latencyMs: 100 });
  anthropic = new FakeProvider({ clock });
  anthropic.model('claude-sonnet', { latencyMs: 200, version: 'claude-sonnet-2025-05-14', chunkDelayMs: 10 });
});

afterEach(async () => {
  await otel.shutdown();
});

/** rel's stack for the tests: telemetry outermost, then budget, guardrail, fallback over retries, attempts innermost. */
function stack(telemetry: ReturnType<typeof createTelemetry>) {
  const primary = telemetry.attempt({ provider: 'openai', serverAddress: 'api.openai.com', serverPort: 443 })(
    openai.handler,
  );
  const secondary = telemetry.attempt({ provider: 'anthropic', serverAddress: 'api.anthropic.com', serverPort: 443 })(
    anthropic.handler,
  );
  const router = fallingBack(
    { target: 'openai:gpt-4o', model: 'gpt-4o', handler: retrying('openai:gpt-4o', primary, 2, hub) },
    {
      target: 'anthropic:claude-sonnet',
      model: 'claude-sonnet',
      handler: retrying('anthropic:claude-sonnet', secondary, 1, hub),
    },
    hub,
  );
  return compose(telemetry.request, charging, passingGuardrail(hub))(router);
}

function newTelemetry() {
  return createTelemetry({
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
    loggerProvider: otel.loggerProvider,
    jsonLines: otel.jsonLines,
    events: hub,
    hashSalt: SALT,
    serviceName: 'checkout-api',
  });
}

function context(requestId: string) {
  return new RequestContext({
    requestId,
    idempotencyKey: 'idem-123',
    principal: { orgId: 'acme', userId: 'user-42', tier: 'pro' },
    clock,
    events: hub,
  });
}

describe('a request that retried, fell back and was charged', () => {
  it('exports a request span, three attempt spans, metric points and one log record with exact attributes', async () => {
    openai.fail('gpt-4o', { type: 'rate_limit', retryAfterSeconds: 1 });
    openai.fail('gpt-4o', { type: 'server_error', status: 503 });
    const handler = stack(newTelemetry());

    const res = (await drive(clock, handler(request, context('req_retry_fallback')))) as Completion;

    // 100 ms rate limited, 50 ms backoff, 100 ms 503, then 200 ms on the fallback.
    expect(clock.now() - START).toBe(450);
    const { inputTokens, outputTokens } = res.usage;
    const inputUsd = inputTokens * PRICES.input;
    const outputUsd = outputTokens * PRICES.output;
    const totalUsd = inputUsd + outputUsd;

    const spans = await otel.spans();
    const root = spans.find((s) => s.kind === SpanKind.INTERNAL);
    const attempts = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(root?.name).toBe('rel chat smart');
    expect(root?.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(root?.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'smart',
      'gen_ai.request.stream': false,
      'gen_ai.request.max_tokens': 256,
      'gen_ai.request.temperature': 0.2,
      'rel.request.id': 'req_retry_fallback',
      'rel.request.idempotency_key': hash('idem-123'),
      'rel.org.id': 'acme',
      'user.id': hash('user-42'),
      'gen_ai.provider.name': 'anthropic',
      'rel.answer.model': 'claude-sonnet',
      'gen_ai.response.model': 'claude-sonnet-2025-05-14',
      'gen_ai.response.id': res.id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': inputTokens,
      'gen_ai.usage.output_tokens': outputTokens,
      'rel.attempt.count': 3,
      'rel.fallback.triggered': true,
      'rel.fallback.reason': 'retries_exhausted',
      'rel.fallback.from': 'openai:gpt-4o',
      'rel.fallback.to': 'anthropic:claude-sonnet',
      'rel.cost.input': inputUsd,
      'rel.cost.output': outputUsd,
      'rel.cost.total': totalUsd,
      'gen_ai.usage.cost': totalUsd,
      'rel.budget.remaining': BUDGET_LIMIT_USD - totalUsd,
      'rel.degraded': false,
      'rel.safe_default': false,
    });
    expect(root?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'rel.guardrail.evaluated',
        {
          'rel.guardrail.name': 'pii',
          'rel.guardrail.stage': 'input',
          'rel.guardrail.verdict': 'pass',
          'rel.guardrail.latency_ms': 2,
          'rel.guardrail.categories': [],
        },
      ],
      ['rel.retry', { 'rel.attempt.number': 2, 'rel.retry.delay_ms': 50, 'rel.retry.reason': 'rate_limited' }],
      [
        'rel.fallback',
        {
          'rel.fallback.reason': 'retries_exhausted',
          'rel.fallback.from': 'openai:gpt-4o',
          'rel.fallback.to': 'anthropic:claude-sonnet',
        },
      ],
    ]);

    expect(attempts.map((s) => s.name)).toEqual(['chat gpt-4o', 'chat gpt-4o', 'chat claude-sonnet']);
    for (const s of attempts) {
      expect(s.parentSpanContext?.spanId).toBe(root?.spanContext().spanId);
      expect(s.spanContext().traceId).toBe(root?.spanContext().traceId);
    }
    const openaiAttempt = (number: number, errorType: string) => ({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.stream': false,
      'gen_ai.request.max_tokens': 256,
      'gen_ai.request.temperature': 0.2,
      'server.address': 'api.openai.com',
      'server.port': 443,
      'rel.attempt.number': number,
      'error.type': errorType,
    });
    expect(attempts[0]?.attributes).toEqual(openaiAttempt(1, 'rate_limited'));
    expect(attempts[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'rate_limited' });
    expect(attempts[1]?.attributes).toEqual(openaiAttempt(2, 'provider_unavailable'));
    expect(attempts[1]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'provider_unavailable' });
    expect(attempts[2]?.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet',
      'gen_ai.request.stream': false,
      'gen_ai.request.max_tokens': 256,
      'gen_ai.request.temperature': 0.2,
      'server.address': 'api.anthropic.com',
      'server.port': 443,
      'rel.attempt.number': 3,
      'gen_ai.response.model': 'claude-sonnet-2025-05-14',
      'gen_ai.response.id': res.id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': inputTokens,
      'gen_ai.usage.output_tokens': outputTokens,
    });
    expect(attempts[2]?.status).toEqual({ code: SpanStatusCode.UNSET });

    const metrics = await otel.metrics();
    const modelAttrs = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'smart',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.response.model': 'claude-sonnet-2025-05-14',
    };
    const duration = metrics.get('gen_ai.client.operation.duration');
    expect(duration?.descriptor.unit).toBe('s');
    expect(duration?.dataPoints).toHaveLength(1);
    const durationPoint = duration?.dataPoints[0] as HistogramDataPoint;
    expect(durationPoint.attributes).toEqual(modelAttrs);
    expect(durationPoint.value).toMatchObject({ count: 1, sum: 0.45, min: 0.45, max: 0.45 });
    expect(durationPoint.value.buckets.boundaries).toEqual(DURATION_BUCKETS);

    const tokens = metrics.get('gen_ai.client.token.usage');
    expect(tokens?.descriptor.unit).toBe('{token}');
    expect(tokens?.dataPoints.map((p) => [p.attributes, (p as HistogramDataPoint).value.sum])).toEqual([
      [{ ...modelAttrs, 'gen_ai.token.type': 'input' }, inputTokens],
      [{ ...modelAttrs, 'gen_ai.token.type': 'output' }, outputTokens],
    ]);
    const tokenPoint = tokens?.dataPoints[0] as HistogramDataPoint;
    expect(tokenPoint.value.buckets.boundaries).toEqual(TOKEN_USAGE_BUCKETS);

    expect(metrics.get('rel.cost')?.descriptor.unit).toBe('USD');
    expect(metrics.get('rel.cost')?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([[modelAttrs, totalUsd]]);
    expect(metrics.get('rel.retries')?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ 'rel.retry.reason': 'rate_limited' }, 1],
    ]);
    expect(metrics.get('rel.fallbacks')?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [
        {
          'rel.fallback.reason': 'retries_exhausted',
          'rel.fallback.from': 'openai:gpt-4o',
          'rel.fallback.to': 'anthropic:claude-sonnet',
        },
        1,
      ],
    ]);
    expect(metrics.get('rel.guardrail.evaluations')?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ 'rel.guardrail.name': 'pii', 'rel.guardrail.stage': 'input', 'rel.guardrail.verdict': 'pass' }, 1],
    ]);
    // The caller saw no failure, and nothing streamed.
    expect(metrics.get('rel.errors')?.dataPoints ?? []).toEqual([]);
    expect(metrics.get('gen_ai.client.operation.time_to_first_chunk')?.dataPoints ?? []).toEqual([]);

    const fields = {
      'rel.request.id': 'req_retry_fallback',
      'rel.org.id': 'acme',
      'gen_ai.request.model': 'smart',
      'gen_ai.provider.name': 'anthropic',
      'rel.answer.model': 'claude-sonnet',
      'gen_ai.response.model': 'claude-sonnet-2025-05-14',
      'rel.latency_ms': 450,
      'rel.time_to_first_chunk_ms': null,
      'gen_ai.usage.input_tokens': inputTokens,
      'gen_ai.usage.output_tokens': outputTokens,
      'rel.cost.total': totalUsd,
      'rel.attempt.count': 3,
      'rel.fallback.reason': 'retries_exhausted',
      'rel.error.class': null,
      'rel.degraded': false,
      'rel.safe_default': false,
    };
    const logs = await otel.logs();
    expect(logs).toHaveLength(1);
    const log = logs[0];
    expect(log?.eventName).toBe('rel.request');
    expect(log?.severityText).toBe('INFO');
    expect(log?.severityNumber).toBe(9);
    expect(log?.body).toBe('chat smart: ok in 450 ms');
    const { 'rel.time_to_first_chunk_ms': _ttfc, 'rel.error.class': _class, ...present } = fields;
    expect(log?.attributes).toEqual(present);
    expect(log?.spanContext?.traceId).toBe(root?.spanContext().traceId);
    expect(log?.spanContext?.spanId).toBe(root?.spanContext().spanId);

    expect(otel.jsonRecords()).toEqual([
      {
        ts: new Date(START + 450).toISOString(),
        level: 'info',
        event: 'rel.request',
        service: 'checkout-api',
        trace_id: root?.spanContext().traceId,
        ...fields,
      },
    ]);
  });
});

describe('a streamed request', () => {
  it('ends the request span and the log record when the stream ends, with the time to first chunk', async () => {
    const handler = stack(newTelemetry());
    openai.always('gpt-4o', { type: 'server_error', status: 503 });
    let opened = false;
    let firstChunkAt: number | undefined;
    let finishedAt = 0;
    await drive(
      clock,
      (async () => {
        const res = await handler({ ...request, stream: true }, context('req_stream'));
        opened = true;
        // The stream is open but unread: nothing has ended yet.
        expect((await otel.spans()).filter((s) => s.kind === SpanKind.INTERNAL)).toEqual([]);
        expect(res.type).toBe('stream');
        if (res.type !== 'stream') return;
        for await (const chunk of res.chunks) {
          firstChunkAt ??= clock.now();
          if (chunk.type === 'finish') finishedAt = clock.now();
        }
      })(),
    );
    expect(opened).toBe(true);
    // Two failed openai attempts (100 + 50 + 100 ms), then 200 ms to the first fallback chunk.
    expect(firstChunkAt).toBe(START + 450);

    const spans = await otel.spans();
    const root = spans.find((s) => s.kind === SpanKind.INTERNAL);
    const last = spans.filter((s) => s.kind === SpanKind.CLIENT).at(-1);
    expect(root?.attributes['gen_ai.request.stream']).toBe(true);
    expect(root?.attributes['gen_ai.response.time_to_first_chunk']).toBe(0.45);
    expect(root?.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(root?.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(root?.attributes['rel.cost.total']).toBeGreaterThan(0);
    // The attempt's own time to first chunk runs from its own start (after 250 ms of failed attempts).
    expect(last?.attributes['gen_ai.response.time_to_first_chunk']).toBe(0.2);
    expect(last?.attributes['gen_ai.response.model']).toBe('claude-sonnet-2025-05-14');

    const metrics = await otel.metrics();
    const ttfc = metrics.get('gen_ai.client.operation.time_to_first_chunk')?.dataPoints as HistogramDataPoint[];
    expect(ttfc.map((p) => [p.attributes['gen_ai.request.model'], p.value.sum])).toEqual([['smart', 0.45]]);
    expect(ttfc[0]?.value.buckets.boundaries).toEqual(DURATION_BUCKETS);
    const duration = metrics.get('gen_ai.client.operation.duration')?.dataPoints[0] as HistogramDataPoint;
    expect(duration.value.sum).toBeCloseTo((finishedAt - START) / 1000, 9);

    const [line] = otel.jsonRecords();
    expect(line?.['rel.time_to_first_chunk_ms']).toBe(450);
    expect(line?.['rel.latency_ms']).toBe(finishedAt - START);
    expect(line?.['rel.error.class']).toBeNull();
  });

  it('ends the spans without an error when the consumer stops reading early', async () => {
    const handler = stack(newTelemetry());
    await drive(
      clock,
      (async () => {
        const res = await handler({ ...request, stream: true }, context('req_abandoned'));
        if (res.type !== 'stream') throw new Error('expected a stream');
        for await (const chunk of res.chunks) {
          expect(chunk.type).toBe('text-delta');
          break;
        }
      })(),
    );
    const spans = await otel.spans();
    expect(spans.map((s) => [s.name, s.status.code])).toEqual([
      ['chat gpt-4o', SpanStatusCode.UNSET],
      ['rel chat smart', SpanStatusCode.UNSET],
    ]);
    const [line] = otel.jsonRecords();
    expect(line?.['rel.error.class']).toBeNull();
    expect(line?.['rel.time_to_first_chunk_ms']).toBe(100);
  });

  it('marks the request failed when the stream is cut after it started', async () => {
    openai.fail('gpt-4o', { type: 'cut_stream', afterChunks: 2 });
    const handler = stack(newTelemetry());
    const error = await drive(
      clock,
      (async () => {
        const res = await handler({ ...request, stream: true }, context('req_cut'));
        if (res.type !== 'stream') throw new Error('expected a stream');
        for await (const _ of res.chunks);
      })(),
    ).catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure.kind).toBe('stream_interrupted');
    const root = (await otel.spans()).find((s) => s.kind === SpanKind.INTERNAL);
    expect(root?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'stream_interrupted' });
    expect(root?.attributes['rel.error.class']).toBe('unavailable');
    expect(root?.attributes['error.type']).toBe('stream_interrupted');
  });
});

describe('a failing request', () => {
  it('marks the request span as an error with the user-visible class, counts it and logs it at ERROR', async () => {
    openai.always('gpt-4o', { type: 'content_filter' });
    anthropic.always('claude-sonnet', { type: 'content_filter' });
    const handler = stack(newTelemetry());

    const error = await drive(clock, handler(request, context('req_failed'))).catch((e: unknown) => e);

    expect(RelError.is(error) && error.info.userClass).toBe('output_blocked');
    const spans = await otel.spans();
    const root = spans.find((s) => s.kind === SpanKind.INTERNAL);
    expect(root?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'content_filtered' });
    expect(root?.attributes).toMatchObject({
      'error.type': 'content_filtered',
      'rel.error.class': 'output_blocked',
      'rel.attempt.count': 3,
      'rel.fallback.triggered': true,
      'gen_ai.usage.input_tokens': 0,
      'gen_ai.usage.output_tokens': 0,
    });
    expect(root?.attributes['gen_ai.response.model']).toBeUndefined();
    expect(spans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
    ]);

    const metrics = await otel.metrics();
    expect(metrics.get('rel.errors')?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'smart',
          'rel.error.class': 'output_blocked',
          'error.type': 'content_filtered',
        },
        1,
      ],
    ]);
    const duration = metrics.get('gen_ai.client.operation.duration')?.dataPoints[0];
    // `gen_ai.provider.name` is required on the convention's metrics: the last provider tried.
    expect(duration?.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'smart',
      'gen_ai.provider.name': 'anthropic',
      'error.type': 'content_filtered',
    });
    // No tokens were billed, so no token points; no cost either.
    expect(metrics.get('gen_ai.client.token.usage')?.dataPoints ?? []).toEqual([]);
    expect(metrics.get('rel.cost')?.dataPoints ?? []).toEqual([]);

    const [log] = await otel.logs();
    expect(log?.severityText).toBe('ERROR');
    expect(log?.severityNumber).toBe(17);
    expect(log?.body).toBe('chat smart: failed (output_blocked) in 450 ms');
    expect(log?.attributes['rel.error.class']).toBe('output_blocked');
    expect(log?.attributes['gen_ai.response.model']).toBeUndefined();
    expect(otel.jsonRecords()[0]).toMatchObject({
      level: 'error',
      'rel.error.class': 'output_blocked',
      'gen_ai.response.model': null,
    });
  });

  it('keeps a request served degraded a success, logged at WARN with its flag', async () => {
    const telemetry = newTelemetry();
    const degrade = compose(telemetry.request)(async (req, ctx) => {
      ctx.markDegraded('provider_unavailable');
      hub.emit('degraded', { requestId: ctx.requestId, feature: 'summaries', reason: 'provider_unavailable' });
      return {
        type: 'completion',
        id: '',
        requestedModel: req.model,
        model: 'none',
        message: { role: 'assistant', content: '' },
        finishReason: 'stop',
        usage: { inputTokens: 0, outputTokens: 0 },
      };
    });
    await degrade(request, context('req_degraded'));
    const root = (await otel.spans())[0];
    expect(root?.status.code).toBe(SpanStatusCode.UNSET);
    expect(root?.attributes['rel.degraded']).toBe(true);
    expect(root?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'rel.degraded',
        {
          'rel.feature.name': 'summaries',
          'rel.degradation.mode': 'degraded',
          'rel.degradation.reason': 'provider_unavailable',
        },
      ],
    ]);
    const [log] = await otel.logs();
    expect([log?.severityText, log?.attributes['rel.degraded']]).toEqual(['WARN', true]);
  });
});
