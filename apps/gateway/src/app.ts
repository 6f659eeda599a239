import {
  type Clock,
  EventHub,
  type LlmRequest,
  type LlmResponse,
  RequestContext,
  type StateStore,
  systemClock,
} from '@rel/core';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { FetchFunction } from '@rel/providers';
import { type JsonLinesSink, type Telemetry, type TelemetryLoggerProvider, createTelemetry } from '@rel/telemetry';
import type { Caller } from './auth';
import type { GatewayConfig } from './config';
import { type GatewayApp, type RunningGateway, startHttpServer } from './http-server';
import { type Otel, setupOtel } from './otel';
import { type Pipeline, buildPipeline } from './pipeline';
import { createStore, storeReady } from './store';

/** Collaborators of a gateway; all optional. */
export interface GatewayOptions {
  /** Where secrets are read (provider keys, Redis URL, OTLP headers). Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The fetch providers call (default the runtime's). */
  fetch?: FetchFunction;
  /** Default `systemClock`. */
  clock?: Clock;
  /** Where the one JSON line per request goes. Default `process.stdout` (when `telemetry.jsonLogs`). */
  logs?: JsonLinesSink;
  /** Where the gateway's own operational lines go (start, store errors, unknown prices). Default `process.stderr`. */
  diagnostics?: JsonLinesSink;
  /** A store to use instead of the configured one (left open by `shutdown`). */
  store?: StateStore;
  /**
   * OpenTelemetry providers of the embedding app, used instead of building an SDK from
   * `config.telemetry` (whose exporters are then ignored). The app owns them: the gateway's
   * `shutdown` flushes but does not shut them down. `GET /metrics` is served only with `metrics`.
   */
  otel?: GatewayOtelProviders;
}

/** The OpenTelemetry SDK objects an embedding app hands to `createGateway` (see `GatewayOptions.otel`). */
export interface GatewayOtelProviders {
  /** Absent: the globally registered one (none registered: spans stay non-recording). */
  readonly tracerProvider?: TracerProvider;
  /** Absent: the globally registered one (none registered: no metrics). */
  readonly meterProvider?: MeterProvider;
  /** Absent: no OpenTelemetry log records (the JSON lines are separate). */
  readonly loggerProvider?: TelemetryLoggerProvider;
  /** Prometheus text for `GET /metrics`, when the app has a reader for it. */
  readonly metrics?: () => Promise<string>;
}

/** A gateway: the composed pipeline plus its HTTP server, usable in-process by tests, the demo and benchmarks. */
export interface Gateway extends GatewayApp {
  readonly hub: EventHub;
  readonly store: StateStore;
  readonly pipeline: Pipeline;
  readonly telemetry: Telemetry;
  /** The base URL (`http://host:port`), once started. */
  readonly url: string;
  /** Starts listening on `config.server.host:port` (port 0: a free one). */
  start(): Promise<RunningGateway>;
  /**
   * Stops accepting, lets in-flight requests finish up to `server.shutdownGraceMs` (then cancels
   * them, which releases or settles their reservations), flushes telemetry and closes the store.
   */
  shutdown(): Promise<void>;
}

/**
 * Builds a gateway from a validated config: every provider, policy and middleware is made here,
 * once, never per request.
 * @throws ConfigError when the environment lacks what the config names (the Redis URL).
 * @example
 * const gateway = createGateway(loadConfig('gateway.yaml'));
 * await gateway.start();
 * console.log(gateway.url); // http://127.0.0.1:8787
 */
export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const diagnostics = options.diagnostics ?? process.stderr;
  const note = (event: string, fields: Record<string, unknown> = {}) =>
    diagnostics.write(`${JSON.stringify({ ts: new Date(clock.now()).toISOString(), event, ...fields })}\n`);
  const hub = new EventHub({
    onListenerError: (_error, event) => note('rel.gateway.listener_error', { listener: event }),
  });
  const store = options.store ?? createStore(config.store, env, clock);
  const otel: Otel | undefined = options.otel ? undefined : setupOtel(config.telemetry, env);
  const providers: GatewayOtelProviders = options.otel ?? {
    ...(otel?.tracerProvider ? { tracerProvider: otel.tracerProvider } : {}),
    ...(otel ? { meterProvider: otel.meterProvider } : {}),
    ...(otel?.loggerProvider ? { loggerProvider: otel.loggerProvider } : {}),
    ...(otel?.prometheus ? { metrics: otel.prometheus } : {}),
  };
  const hashSalt = config.telemetry.hashSaltEnv ? env[config.telemetry.hashSaltEnv] : undefined;
  const jsonLines = config.telemetry.jsonLogs ? (options.logs ?? process.stdout) : undefined;
  const telemetry = createTelemetry({
    ...(providers.meterProvider ? { meterProvider: providers.meterProvider } : {}),
    ...(providers.tracerProvider ? { tracerProvider: providers.tracerProvider } : {}),
    ...(providers.loggerProvider ? { loggerProvider: providers.loggerProvider } : {}),
    ...(jsonLines ? { jsonLines } : {}),
    ...(hashSalt ? { hashSalt } : {}),
    serviceName: config.telemetry.serviceName,
    events: hub,
  });
  hub.on('store-error', (e) => note('rel.gateway.store_error', e));
  const pipeline = buildPipeline({
    config,
    telemetry,
    store,
    hub,
    clock,
    env,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    logger: { warn: (message) => note('rel.gateway.warning', { message }) },
  });
  const features = new Map(
    Object.entries(config.features).map(([name, f]) => [name, { name, critical: f.critical }] as const),
  );
  let running: RunningGateway | undefined;
  let stopped: Promise<void> | undefined;

  const gateway: Gateway = {
    config,
    hub,
    store,
    pipeline,
    telemetry,
    get url() {
      if (!running) throw new Error('gateway not started');
      return running.url;
    },
    handle(request: LlmRequest, ctx: RequestContext): Promise<LlmResponse> {
      return pipeline.handler(request, ctx);
    },
    context(caller: Caller, init) {
      const feature = init.feature ? (features.get(init.feature) ?? { name: init.feature, critical: true }) : undefined;
      return new RequestContext({
        principal: { orgId: caller.org, tier: caller.tier, ...(init.userId ? { userId: init.userId } : {}) },
        ...(feature ? { feature } : {}),
        signal: init.signal,
        ...(init.idempotencyKey ? { idempotencyKey: init.idempotencyKey } : {}),
        operation: 'chat',
        clock,
        events: hub,
      });
    },
    ...(providers.metrics ? { metrics: providers.metrics } : {}),
    ready: () => storeReady(store),
    ...(jsonLines
      ? {
          rejected(info: { status: number; code: string; path: string }) {
            jsonLines.write(
              `${JSON.stringify({ ts: new Date(clock.now()).toISOString(), level: 'warn', event: 'rel.request.rejected', service: config.telemetry.serviceName, 'http.response.status_code': info.status, 'error.type': info.code, 'url.path': info.path })}\n`,
            );
          },
        }
      : {}),
    async start() {
      if (running) return running;
      running = await startHttpServer(gateway);
      note('rel.gateway.listening', { url: running.url });
      return running;
    },
    shutdown() {
      stopped ??= (async () => {
        await running?.shutdown();
        await telemetry.shutdown();
        await otel?.shutdown();
        if (!options.store) await store.close().catch(() => {});
      })();
      return stopped;
    },
  };
  return gateway;
}
