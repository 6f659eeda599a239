import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  type DataPoint,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { StateStore } from '@rel/core';
import { FakeProvider } from '@rel/testing';
import OpenAI from 'openai';
import { type Gateway, type GatewayOtelProviders, createGateway } from '../src/app';
import { hashKey } from '../src/auth';
import { type GatewayConfigInput, parseConfig } from '../src/config';

/** Each attempt of the `fast` alias must start streaming within 1 s and never stall for 1 s. */
const FAST = { totalMs: 4_000, firstTokenMs: 1_000, idleMs: 1_000 };

export const KEYS = {
  acme: 'sk-test-acme-0123456789',
  limited: 'sk-test-limited-0123456789',
  broke: 'sk-test-broke-0123456789',
  tiny: 'sk-test-tiny-0123456789',
} as const;

/** A config for tests: short timeouts, tiny backoffs, the fake provider as upstream. */
export function testConfig(baseURL: string, overrides: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    server: { port: 0, bodyLimitBytes: 20_000, headersTimeoutMs: 400, bodyTimeoutMs: 300, shutdownGraceMs: 2_000 },
    providers: { fake: { type: 'openai', baseURL, apiKeyEnv: 'FAKE_API_KEY' } },
    models: {
      chat: {
        routes: [
          { name: 'primary', provider: 'fake', model: 'gpt-primary' },
          { name: 'backup', provider: 'fake', model: 'gpt-backup', supportsPrefill: true },
        ],
      },
      secret: { routes: [{ provider: 'fake', model: 'gpt-secret' }] },
      fast: {
        routes: [
          { name: 'fast-primary', provider: 'fake', model: 'gpt-primary', retry: { maxAttempts: 1 }, timeouts: FAST },
          { name: 'fast-backup', provider: 'fake', model: 'gpt-backup', retry: { maxAttempts: 1 }, timeouts: FAST },
        ],
        timeouts: { totalMs: 6_000 },
      },
    },
    defaults: {
      timeouts: { default: { totalMs: 10_000 } },
      attempt: { totalMs: 4_000, firstTokenMs: 1_000, idleMs: 1_000 },
      retry: { maxAttempts: 3, backoff: { type: 'exponential', baseMs: 1, capMs: 5 }, maxRetryAfterMs: 50 },
      breaker: { consecutiveFailures: 20, openMs: 1_000 },
    },
    keys: [
      { hash: hashKey(KEYS.acme), org: 'acme', tier: 'pro' },
      { hash: hashKey(KEYS.limited), org: 'acme', tier: 'pro', models: ['chat'] },
      { hash: hashKey(KEYS.broke), org: 'broke', tier: 'pro' },
      { hash: hashKey(KEYS.tiny), org: 'tiny', tier: 'free' },
    ],
    tiers: { pro: { rpm: 10_000 }, free: { rpm: 3 } },
    orgs: { broke: { spendPerDayUsd: 0.0001 } },
    guardrails: { output: { deny: ['internal use only'] } },
    features: { suggestions: { critical: false, degraded: 'No suggestions right now.' } },
    ...overrides,
  };
}

export interface Stack {
  readonly fake: FakeProvider;
  readonly gateway: Gateway;
  readonly logs: string[];
  client(key?: string): OpenAI;
  close(): Promise<void>;
}

/** The fake provider over HTTP and an in-process gateway in front of it, logs captured. */
export async function startStack(
  overrides: Partial<GatewayConfigInput> = {},
  options: {
    store?: StateStore;
    otel?: GatewayOtelProviders;
    env?: Record<string, string>;
    configFile?: string;
    fake?: FakeProvider;
  } = {},
): Promise<Stack> {
  const fake = options.fake ?? new FakeProvider();
  const server = await fake.listen();
  const logs: string[] = [];
  const config = parseConfig(testConfig(server.baseURL, overrides));
  const gateway = createGateway(config, {
    env: { FAKE_API_KEY: 'sk-upstream-secret', ...options.env },
    ...(options.configFile ? { configFile: options.configFile } : {}),
    logs: { write: (line: string) => logs.push(line) },
    diagnostics: { write: (line: string) => logs.push(line) },
    ...(options.store ? { store: options.store } : {}),
    ...(options.otel ? { otel: options.otel } : {}),
  });
  await gateway.start();
  return {
    fake,
    gateway,
    logs,
    client: (key = KEYS.acme) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 }),
    async close() {
      await gateway.shutdown();
      await server.close();
    },
  };
}

class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** An embedding app's OpenTelemetry SDK with in-memory exporters, as the demo has. */
export function memoryOtel() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const logs = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logs })] });
  return {
    providers: { tracerProvider, meterProvider, loggerProvider },
    async spans() {
      await tracerProvider.forceFlush();
      return spans.getFinishedSpans();
    },
    logRecords: () => logs.getFinishedLogRecords(),
    /** The data points of one metric, by name. */
    async points(name: string): Promise<DataPoint<unknown>[]> {
      const { resourceMetrics } = await reader.collect();
      const all: MetricData[] = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      return all.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as DataPoint<unknown>[]);
    },
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
    },
  };
}
