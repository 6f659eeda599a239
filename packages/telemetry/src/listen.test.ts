import { SpanKind } from '@opentelemetry/api';
import { type Completion, EventHub, type Handler, RequestContext, compose } from '@rel/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OtelHarness, otelHarness } from '../test/otel-harness';
import { passingGuardrail } from '../test/scenario';
import { createTelemetry } from './telemetry';

const answer: Handler = async (req) =>
  ({
    type: 'completion',
    id: 'cmpl-1',
    requestedModel: req.model,
    model: `${req.model}-2024-08-06`,
    message: { role: 'assistant', content: 'ok' },
    finishReason: 'stop',
    usage: { inputTokens: 5, outputTokens: 1 },
  }) satisfies Completion;

let otel: OtelHarness;
beforeEach(() => {
  otel = otelHarness();
});
afterEach(async () => {
  await otel.shutdown();
});

async function points(name: string) {
  return (await otel.metrics()).get(name)?.dataPoints.map((p) => [p.attributes, p.value]) ?? [];
}

describe('listening to the event hub', () => {
  it('reports each breaker target as 1 for its current state and 0 for the others', async () => {
    const hub = new EventHub();
    createTelemetry({ meterProvider: otel.meterProvider, events: hub });
    hub.emit('breaker-state', { target: 'openai:gpt-4o', from: 'closed', to: 'open', reason: '5 failures' });
    hub.emit('breaker-state', { target: 'anthropic:claude', from: 'closed', to: 'open', reason: 'timeouts' });
    hub.emit('breaker-state', { target: 'anthropic:claude', from: 'open', to: 'half_open', reason: 'cool-down' });
    const state = (target: string, s: string) => ({ 'rel.breaker.target': target, 'rel.breaker.state': s });
    expect(await points('rel.breaker.state')).toEqual([
      [state('openai:gpt-4o', 'closed'), 0],
      [state('openai:gpt-4o', 'open'), 1],
      [state('openai:gpt-4o', 'half_open'), 0],
      [state('anthropic:claude', 'closed'), 0],
      [state('anthropic:claude', 'open'), 0],
      [state('anthropic:claude', 'half_open'), 1],
    ]);
  });

  it('counts budget alerts, degradations and safe defaults with low-cardinality attributes only', async () => {
    const hub = new EventHub();
    createTelemetry({ meterProvider: otel.meterProvider, events: hub });
    hub.emit('budget-alert', { scope: 'org:acme', period: 'day', thresholdPct: 80, spentUsd: 8.1, limitUsd: 10 });
    hub.emit('budget-alert', { scope: 'org:globex', period: 'day', thresholdPct: 80, spentUsd: 80, limitUsd: 100 });
    hub.emit('safe-default', { requestId: 'req_1', feature: 'tagging', reason: 'timeout' });
    hub.emit('degraded', { requestId: 'req_2', feature: 'summaries', reason: 'provider_unavailable' });
    expect(await points('rel.budget.alerts')).toEqual([
      [{ 'rel.budget.period': 'day', 'rel.budget.threshold_pct': 80 }, 2],
    ]);
    expect(await points('rel.degradations')).toEqual([
      [
        { 'rel.feature.name': 'tagging', 'rel.degradation.mode': 'safe_default', 'rel.degradation.reason': 'timeout' },
        1,
      ],
      [
        {
          'rel.feature.name': 'summaries',
          'rel.degradation.mode': 'degraded',
          'rel.degradation.reason': 'provider_unavailable',
        },
        1,
      ],
    ]);
  });

  it('counts each event once however often the same hub is listened to, and stops after unsubscribing', async () => {
    const hub = new EventHub();
    const telemetry = createTelemetry({ meterProvider: otel.meterProvider, events: hub });
    const again = telemetry.listen(hub);
    hub.emit('retry', { attempt: 2, delayMs: 100, reason: 'rate_limited' });
    again();
    hub.emit('retry', { attempt: 2, delayMs: 100, reason: 'rate_limited' });
    expect(await points('rel.retries')).toEqual([[{ 'rel.retry.reason': 'rate_limited' }, 1]]);
    expect(hub.has('retry')).toBe(false);
  });

  it('adds timeout and hedge events to the span of the request they name', async () => {
    const hub = new EventHub();
    const telemetry = createTelemetry({ tracerProvider: otel.tracerProvider, events: hub });
    const handler = compose(telemetry.request)(async (req, ctx) => {
      hub.emit('hedge', { requestId: ctx.requestId, delayMs: 300 });
      hub.emit('timeout', { requestId: ctx.requestId, operation: 'chat', phase: 'first_token', limitMs: 2000 });
      hub.emit('timeout', { requestId: 'another-request', operation: 'chat', phase: 'total', limitMs: 1 });
      return answer(req, ctx);
    });
    await handler({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, new RequestContext());
    const [span] = await otel.spans();
    expect(span?.events.map((e) => [e.name, e.attributes])).toEqual([
      ['rel.hedge', { 'rel.hedge.delay_ms': 300 }],
      ['rel.timeout', { 'rel.timeout.phase': 'first_token', 'rel.timeout.limit_ms': 2000 }],
    ]);
  });

  it('takes guardrail verdicts from the context when no hub delivered them', async () => {
    const telemetry = createTelemetry({ tracerProvider: otel.tracerProvider });
    const handler = compose(telemetry.request, passingGuardrail(undefined))(answer);
    await handler({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, new RequestContext());
    const span = (await otel.spans()).find((s) => s.kind === SpanKind.INTERNAL);
    expect(span?.events.map((e) => [e.name, e.attributes])).toEqual([
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
    ]);
  });

  it('stops recording and unsubscribes on shutdown', async () => {
    const hub = new EventHub();
    const telemetry = createTelemetry({
      tracerProvider: otel.tracerProvider,
      meterProvider: otel.meterProvider,
      events: hub,
    });
    await telemetry.shutdown();
    expect(hub.has('fallback')).toBe(false);
    const res = await compose(telemetry.request)(answer)(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      new RequestContext(),
    );
    expect(res.type).toBe('completion');
    expect(await otel.spans()).toEqual([]);
    expect(await points('gen_ai.client.operation.duration')).toEqual([]);
  });
});
