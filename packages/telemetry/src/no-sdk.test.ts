import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  type ContextManager,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  TraceFlags,
  context,
  isSpanContextValid,
  metrics,
  trace,
} from '@opentelemetry/api';
import { type HistogramMetricData, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { EventHub, type LlmRequest, RequestContext, collectStream, compose } from '@rel/core';
import { FakeProvider } from '@rel/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { charging, fallingBack, passingGuardrail, retrying } from '../test/scenario';
import { createTelemetry } from './telemetry';

const request: LlmRequest = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hi.' }], maxTokens: 64 };

/** What the API's no-op tracer hands out (a non-recording span), counting every call that carries attribute work. */
class CountingNonRecordingSpan implements Span {
  static work = 0;
  static ended = 0;
  spanContext() {
    return INVALID_SPAN_CONTEXT;
  }
  setAttribute() {
    CountingNonRecordingSpan.work++;
    return this;
  }
  setAttributes() {
    CountingNonRecordingSpan.work++;
    return this;
  }
  addEvent() {
    CountingNonRecordingSpan.work++;
    return this;
  }
  addLink() {
    CountingNonRecordingSpan.work++;
    return this;
  }
  addLinks() {
    CountingNonRecordingSpan.work++;
    return this;
  }
  setStatus() {
    CountingNonRecordingSpan.work++;
    return this;
  }
  updateName() {
    CountingNonRecordingSpan.work++;
    return this;
  }
  recordException() {
    CountingNonRecordingSpan.work++;
  }
  end() {
    CountingNonRecordingSpan.ended++;
  }
  isRecording() {
    return false;
  }
}

const countingProvider: TracerProvider = {
  getTracer(): Tracer {
    return {
      startSpan(_name: string, _options?: SpanOptions, _context?: Context) {
        return new CountingNonRecordingSpan();
      },
      startActiveSpan: (() => {
        throw new Error('not used');
      }) as Tracer['startActiveSpan'],
    };
  },
};

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** The smallest AsyncLocalStorage context manager, as an app registers one (the SDK's is the same idea). */
class StorageContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

afterEach(() => {
  metrics.disable();
  context.disable();
});

describe('without an SDK', () => {
  it('does no attribute work on non-recording spans, through retries, fallback, events and a stream', async () => {
    const hub = new EventHub();
    const openai = new FakeProvider();
    const anthropic = new FakeProvider();
    openai.always('gpt-4o', { type: 'server_error', status: 503 });
    const telemetry = createTelemetry({ tracerProvider: countingProvider, events: hub });
    const handler = compose(
      telemetry.request,
      charging,
      passingGuardrail(hub),
    )(
      fallingBack(
        {
          target: 'openai:gpt-4o',
          model: 'gpt-4o',
          handler: retrying('openai:gpt-4o', telemetry.attempt({ provider: 'openai' })(openai.handler), 2, hub),
        },
        {
          target: 'anthropic:claude',
          model: 'claude',
          handler: retrying(
            'anthropic:claude',
            telemetry.attempt({ provider: 'anthropic' })(anthropic.handler),
            1,
            hub,
          ),
        },
        hub,
      ),
    );
    CountingNonRecordingSpan.work = 0;
    CountingNonRecordingSpan.ended = 0;
    const done = await handler(request, new RequestContext({ principal: { userId: 'u1', orgId: 'o1' }, events: hub }));
    expect(done.type).toBe('completion');
    const streamed = await handler({ ...request, stream: true }, new RequestContext({ events: hub }));
    if (streamed.type !== 'stream') throw new Error('expected a stream');
    const collected = await collectStream(streamed);
    hub.emit('breaker-state', { target: 'openai:gpt-4o', from: 'closed', to: 'open', reason: 'failures' });
    hub.emit('budget-alert', { scope: 'org:o1', period: 'day', thresholdPct: 80, spentUsd: 8, limitUsd: 10 });

    expect(collected.usage.outputTokens).toBeGreaterThan(0);
    expect(CountingNonRecordingSpan.work).toBe(0);
    // Two requests, each with a request span and three attempt spans, all ended.
    expect(CountingNonRecordingSpan.ended).toBe(8);
  });

  it('passes answers and streams through unchanged with nothing registered at all', async () => {
    const fake = new FakeProvider();
    const telemetry = createTelemetry();
    const handler = compose(telemetry.request, telemetry.attempt({ provider: 'openai' }))(fake.handler);
    const direct = await fake.handler(request, new RequestContext());
    const through = await handler(request, new RequestContext());
    // Response ids count up per request; everything else is identical.
    expect({ ...through, id: 'x' }).toEqual({ ...direct, id: 'x' });
    const directStream = await fake.handler({ ...request, stream: true }, new RequestContext());
    const throughStream = await handler({ ...request, stream: true }, new RequestContext());
    if (directStream.type !== 'stream' || throughStream.type !== 'stream') throw new Error('expected streams');
    const chunks = async (s: AsyncIterable<unknown>) => {
      const out: unknown[] = [];
      for await (const c of s) out.push({ ...(c as object), id: 'x' });
      return out;
    };
    expect(await chunks(throughStream.chunks)).toEqual(await chunks(directStream.chunks));
    await telemetry.shutdown();
  });

  it('hands an incoming trace down to the provider call, and no trace when none came in', async () => {
    expect(context.setGlobalContextManager(new StorageContextManager())).toBe(true);
    const seen: (string | undefined)[] = [];
    const fake = new FakeProvider();
    const provider = fake.handler;
    const telemetry = createTelemetry();
    const handler = compose(
      telemetry.request,
      telemetry.attempt({ provider: 'openai' }),
    )((req, ctx) => {
      const active = trace.getSpanContext(context.active());
      seen.push(active && isSpanContextValid(active) ? active.traceId : undefined);
      return provider(req, ctx);
    });
    const incoming = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    await context.with(incoming, () => handler(request, new RequestContext()));
    await handler(request, new RequestContext());
    expect(seen).toEqual(['0af7651916cd43dd8448eb211c80319c', undefined]);
  });

  it('starts recording metrics once an SDK is registered globally after createTelemetry', async () => {
    const fake = new FakeProvider();
    const telemetry = createTelemetry();
    const handler = compose(telemetry.request)(fake.handler);
    await handler(request, new RequestContext());

    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    await handler(request, new RequestContext());
    await handler(request, new RequestContext());

    const { resourceMetrics } = await reader.collect();
    const duration = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'gen_ai.client.operation.duration') as HistogramMetricData | undefined;
    // Only the two requests made after registration were recorded.
    expect(duration?.dataPoints.map((p) => p.value.count)).toEqual([2]);
    await meterProvider.shutdown();
  });
});
