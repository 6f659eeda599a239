import { EventHub, MemoryStore, RequestContext, systemClock } from '@rel/core';
import {
  type Caller,
  type GatewayApp,
  type GatewayConfig,
  type Pipeline,
  type RunningGateway,
  buildPipeline,
  parseConfig,
  startHttpServer,
} from '@rel/gateway';
import { createTelemetry } from '@rel/telemetry';
import { FakeProvider, type FakeServer } from '@rel/testing';
import { EventLog } from './event-log';
import { FaultInjector } from './fault-injector';
import { type DemoOtel, createDemoOtel } from './otel';
import { type DayShape, HEALTHY_LATENCY, MODELS, demoConfig } from './scenario';

/** Everything the demo runs in one process: the fake provider, the gateway, the SDK and the recorders. */
export interface DemoStack {
  readonly fake: FakeProvider;
  readonly fakeServer: FakeServer;
  readonly config: GatewayConfig;
  readonly pipeline: Pipeline;
  readonly gateway: RunningGateway;
  readonly hub: EventHub;
  readonly otel: DemoOtel;
  readonly events: EventLog;
  readonly faults: FaultInjector;
  /** The gateway's JSON log lines, one per request, in order. */
  readonly logLines: string[];
  /** The gateway's own operational lines (warnings, store errors). */
  readonly diagnostics: string[];
  /** Milliseconds since the stack started (the demo's time axis). */
  elapsedMs(): number;
  close(): Promise<void>;
}

/** Options of `startStack`. */
export interface StackOptions extends DayShape {
  readonly seed: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Starts the fake provider over real HTTP on 127.0.0.1, and the rel gateway in front of it on the
 * memory store, with an OpenTelemetry SDK whose in-memory exporters the summary reads.
 *
 * The gateway is put together from `@rel/gateway`'s exported parts (`buildPipeline`,
 * `startHttpServer`) rather than `createGateway`, because `createGateway` builds its own SDK from
 * the config and offers no way to hand it the demo's tracer, meter and logger providers; the
 * composition itself is the gateway's.
 * @example const stack = await startStack({ requests: 600, hourMs: 500, seed: 7 });
 */
export async function startStack(options: StackOptions): Promise<DemoStack> {
  const started = systemClock.now();
  const elapsedMs = () => systemClock.now() - started;
  const fake = new FakeProvider({ seed: options.seed });
  for (const model of Object.values(MODELS)) fake.model(model, { latencyMs: { ...HEALTHY_LATENCY }, outputTokens: 24 });
  const fakeServer = await fake.listen();
  const config = parseConfig(demoConfig(fakeServer.baseURL, options), 'demo');
  const otel = createDemoOtel(options.env ?? process.env);
  const hub = new EventHub();
  const events = new EventLog(hub, elapsedMs);
  const logLines: string[] = [];
  const diagnostics: string[] = [];
  const telemetry = createTelemetry({
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
    loggerProvider: otel.loggerProvider,
    jsonLines: { write: (line: string) => void logLines.push(line.trimEnd()) },
    serviceName: config.telemetry.serviceName,
    events: hub,
  });
  const faults = new FaultInjector();
  const store = new MemoryStore({ maxKeys: 100_000 });
  const pipeline = buildPipeline({
    config,
    telemetry,
    store,
    hub,
    clock: systemClock,
    env: { FAKE_API_KEY: 'sk-fake-upstream' },
    fetch: faults.fetch,
    logger: { warn: (message) => void diagnostics.push(message) },
  });
  const features = new Map(Object.entries(config.features).map(([name, f]) => [name, { name, critical: f.critical }]));
  const app: GatewayApp = {
    config,
    handle: (request, ctx) => pipeline.handler(request, ctx),
    context(caller: Caller, init) {
      const feature = init.feature ? (features.get(init.feature) ?? { name: init.feature, critical: true }) : undefined;
      return new RequestContext({
        principal: { orgId: caller.org, tier: caller.tier, ...(init.userId ? { userId: init.userId } : {}) },
        ...(feature ? { feature } : {}),
        signal: init.signal,
        ...(init.idempotencyKey ? { idempotencyKey: init.idempotencyKey } : {}),
        operation: 'chat',
        clock: systemClock,
        events: hub,
      });
    },
    ready: async () => true,
  };
  const gateway = await startHttpServer(app);
  let closed: Promise<void> | undefined;
  return {
    fake,
    fakeServer,
    config,
    pipeline,
    gateway,
    hub,
    otel,
    events,
    faults,
    logLines,
    diagnostics,
    elapsedMs,
    close() {
      closed ??= (async () => {
        await gateway.shutdown();
        await fakeServer.close();
        await telemetry.shutdown();
        events.close();
        await store.close();
        await otel.shutdown();
      })();
      return closed;
    },
  };
}
