import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventHub, MemoryStore, systemClock } from '@rel/core';
import { type Gateway, type GatewayConfig, createGateway, parseConfig } from '@rel/gateway';
import { FakeProvider, type FakeServer } from '@rel/testing';
import { EventLog } from './event-log';
import { FaultInjector } from './fault-injector';
import { type DemoOtel, createDemoOtel } from './otel';
import { DEMO_ADMIN_KEY, type DayShape, HEALTHY_LATENCY, MODELS, demoConfig } from './scenario';

/** Everything the demo runs in one process: the fake provider, the gateway, the SDK and the recorders. */
export interface DemoStack {
  readonly fake: FakeProvider;
  readonly fakeServer: FakeServer;
  readonly config: GatewayConfig;
  /** The gateway, built by `createGateway` exactly as `rel-gateway` builds it, with the demo's SDK. */
  readonly gateway: Gateway;
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
 * Starts the fake provider over real HTTP on 127.0.0.1, and the rel gateway in front of it
 * (`createGateway`, as `rel-gateway` runs it) on the memory store, handing it the demo's
 * OpenTelemetry providers, whose in-memory exporters the summary reads.
 * @example const stack = await startStack({ requests: 600, hourMs: 500, seed: 7 });
 */
export async function startStack(options: StackOptions): Promise<DemoStack> {
  const started = systemClock.now();
  const elapsedMs = () => systemClock.now() - started;
  const fake = new FakeProvider({ seed: options.seed });
  for (const model of Object.values(MODELS)) fake.model(model, { latencyMs: { ...HEALTHY_LATENCY }, outputTokens: 24 });
  const fakeServer = await fake.listen();
  // Written to a file, so the gateway can reload it as `rel-gateway` does (POST /admin/reload).
  const configDir = mkdtempSync(join(tmpdir(), 'rel-demo-'));
  const configFile = join(configDir, 'gateway.json');
  writeFileSync(configFile, JSON.stringify(demoConfig(fakeServer.baseURL, options)));
  const config = parseConfig(demoConfig(fakeServer.baseURL, options), 'demo');
  const otel = createDemoOtel(options.env ?? process.env);
  const logLines: string[] = [];
  const diagnostics: string[] = [];
  const faults = new FaultInjector();
  const store = new MemoryStore({ maxKeys: 100_000 });
  const gateway = createGateway(config, {
    env: { FAKE_API_KEY: 'sk-fake-upstream', REL_ADMIN_KEY: DEMO_ADMIN_KEY },
    configFile,
    fetch: faults.fetch,
    clock: systemClock,
    store,
    otel: {
      tracerProvider: otel.tracerProvider,
      meterProvider: otel.meterProvider,
      loggerProvider: otel.loggerProvider,
    },
    logs: { write: (line: string) => void logLines.push(line.trimEnd()) },
    diagnostics: { write: (line: string) => void diagnostics.push(line.trimEnd()) },
  });
  const events = new EventLog(gateway.hub, elapsedMs);
  await gateway.start();
  let closed: Promise<void> | undefined;
  return {
    fake,
    fakeServer,
    config,
    gateway,
    hub: gateway.hub,
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
        events.close();
        await store.close();
        await otel.shutdown();
        rmSync(configDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
