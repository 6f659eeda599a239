import type { BudgetPolicy } from '@rel/budget';
import { createHash } from 'node:crypto';
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
import { type FetchFunction, nodeHttpFetch } from '@rel/providers';
import {
  type JsonLinesSink,
  type Telemetry,
  type TelemetryLoggerProvider,
  UNKNOWN_MODEL,
  createTelemetry,
} from '@rel/telemetry';
import { type AdminControls, AdminKey, type ConfigVersion, type ReloadResult } from './admin';
import { type Caller, KeyRing } from './auth';
import { ConfigError, type GatewayConfig, loadConfig } from './config';
import { FeatureModes } from './feature-modes';
import { type GatewayApp, type RequestScope, type RunningGateway, startHttpServer } from './http-server';
import { adminControls } from './admin-controls';
import { type Otel, setupOtel } from './otel';
import { type Pipeline, buildPipeline } from './pipeline';
import { createStore, storeReady } from './store';

/** Collaborators of a gateway; all optional. */
export interface GatewayOptions {
  /** Where secrets are read (provider keys, Redis URL, OTLP headers). Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The fetch providers call. Default: `nodeHttpFetch()` from `@rel/providers` (node:http with
   * keep-alive), about 40% less CPU per upstream call than the runtime's `fetch`.
   */
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
  /**
   * The file `config` was loaded from: `reload()` (SIGHUP, `POST /admin/reload`) re-reads it.
   * Without it a reload answers that there is nothing to re-read.
   */
  configFile?: string;
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
  /** The pipeline serving requests that arrive now (a reload swaps it). */
  readonly pipeline: Pipeline;
  readonly telemetry: Telemetry;
  /**
   * The features an operator forced degraded (they survive reloads). With a store other than a
   * `MemoryStore` they are shared by every process on it, re-read every `featureModesRefreshMs`.
   */
  readonly featureModes: FeatureModes;
  /** The incident controls the admin API serves, usable in-process without an admin key. */
  readonly controls: AdminControls;
  /** The base URL (`http://host:port`), once started. */
  readonly url: string;
  /** Answers one request through the current pipeline. */
  handle(request: LlmRequest, ctx: RequestContext): Promise<LlmResponse>;
  /** Builds a request context for a caller, as the HTTP server does. */
  context(caller: Caller, init: Parameters<RequestScope['context']>[1]): RequestContext;
  /**
   * Re-reads `options.configFile`, validates it and, when valid, swaps the pipeline for requests
   * that arrive from now on; requests in flight finish on the old one. A bad file keeps the
   * running config and logs every bad field. `server`, `store` and `telemetry` changes need a
   * restart and are reported in `ignored`. Reloads run one at a time.
   */
  reload(): Promise<ReloadResult>;
  /** Starts listening on `config.server.host:port` (port 0: a free one). */
  start(): Promise<RunningGateway>;
  /**
   * Stops accepting, lets in-flight requests finish up to `server.shutdownGraceMs` (then cancels
   * them, which releases or settles their reservations), flushes telemetry and closes the store.
   */
  shutdown(): Promise<void>;
}

/** One configuration generation: what a request takes when it arrives and keeps to its end. */
export interface Generation extends RequestScope {
  readonly pipeline: Pipeline;
  readonly version: ConfigVersion;
}

/** Sections a reload cannot change in a running process. */
const RESTART_ONLY = ['server', 'store', 'telemetry'] as const;

/**
 * Builds a gateway from a validated config: every provider, policy and middleware is made here,
 * once (and again on a reload), never per request.
 * @throws ConfigError when the environment lacks what the config names (the Redis URL).
 * @example
 * const gateway = createGateway(loadConfig('gateway.yaml'), { configFile: 'gateway.yaml' });
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
  // A MemoryStore serves one process: the modes then stay in it, as the store's state does.
  const featureModes = new FeatureModes(
    store.name === 'memory'
      ? {}
      : {
          store,
          clock,
          ...(config.store.type === 'redis' ? { refreshMs: config.store.featureModesRefreshMs } : {}),
          onStoreError: (_error, op) =>
            hub.emit('store-error', {
              store: store.name,
              policy: 'feature_modes',
              // A failed refresh keeps the last known modes until the next round; a failed write is refused.
              decision: op === 'refresh' ? 'deferred' : 'fail_closed',
            }),
        },
  );
  const upstreamFetch = options.fetch ?? nodeHttpFetch();

  const build = (c: GatewayConfig, version: number, previous?: Pipeline): Generation => {
    const pipeline = buildPipeline({
      config: c,
      telemetry,
      store,
      hub,
      clock,
      env,
      featureModes,
      ...(previous ? { previous } : {}),
      fetch: upstreamFetch,
      logger: { warn: (message) => note('rel.gateway.warning', { message }) },
    });
    const features = new Map(
      Object.entries(c.features).map(([name, f]) => [name, { name, critical: f.critical }] as const),
    );
    return {
      config: c,
      pipeline,
      keys: new KeyRing(c.keys),
      version: {
        version,
        hash: `sha256:${createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 16)}`,
        loadedAt: new Date(clock.now()).toISOString(),
        file: options.configFile ?? null,
      },
      handle: (request, ctx) => pipeline.handler(request, ctx),
      context(caller, init) {
        const feature = init.feature
          ? (features.get(init.feature) ?? { name: init.feature, critical: true })
          : undefined;
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
    };
  };
  let current = build(config, 1);
  const retiredBudgets = new Set<BudgetPolicy>();

  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, config: current.version, ignored: [] });
  const reloadOnce = async (): Promise<ReloadResult> => {
    if (!options.configFile)
      return { ok: false, issues: ['(file): the gateway was started without a config file to re-read'] };
    let next: GatewayConfig;
    try {
      next = loadConfig(options.configFile);
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues : ['(file): unreadable'];
      note('rel.gateway.reload_failed', { file: options.configFile, issues });
      return { ok: false, issues };
    }
    const running = current.config;
    const ignored = RESTART_ONLY.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(running[k]));
    // A section that needs a restart keeps its running value (a `--port` override included).
    const merged: GatewayConfig = {
      ...next,
      server: running.server,
      store: running.store,
      telemetry: running.telemetry,
    };
    try {
      const previous = current.pipeline;
      current = build(merged, current.version.version + 1, previous);
      // Requests in flight still settle through the old policy; shutdown flushes what it deferred.
      retiredBudgets.add(previous.budget);
    } catch (error) {
      const issues = [`(build): ${error instanceof Error ? error.message : String(error)}`];
      note('rel.gateway.reload_failed', { file: options.configFile, issues });
      return { ok: false, issues };
    }
    // A feature no longer configured loses its forced mode, in the shared store too: the next
    // time it is configured it starts normal. A store failure leaves the shared entry (reported
    // as a store error); the reload still succeeds, and an unconfigured feature is never forced.
    try {
      for (const name of await featureModes.retain((name) => Object.hasOwn(merged.features, name)))
        note('rel.gateway.feature_mode_dropped', { feature: name });
    } catch {}
    note('rel.gateway.reloaded', { ...current.version, ...(ignored.length > 0 ? { ignored } : {}) });
    return { ok: true, config: current.version, ignored };
  };
  const reload = (): Promise<ReloadResult> => {
    reloading = reloading.then(reloadOnce, reloadOnce);
    return reloading;
  };

  const controls = adminControls({
    generation: () => current,
    featureModes,
    reload,
    note: (event, fields) => note(event, fields),
  });
  const adminKey = config.admin ? AdminKey.fromEnv(config.admin.keyEnv, env) : undefined;
  if (config.admin && !adminKey)
    note('rel.gateway.admin_disabled', {
      reason: `environment variable ${config.admin.keyEnv} is unset or shorter than 16 characters`,
    });

  let running: RunningGateway | undefined;
  let stopped: Promise<void> | undefined;

  const gateway: Gateway = {
    get config() {
      return current.config;
    },
    hub,
    store,
    get pipeline() {
      return current.pipeline;
    },
    telemetry,
    featureModes,
    controls,
    get url() {
      if (!running) throw new Error('gateway not started');
      return running.url;
    },
    scope: () => current,
    handle: (request, ctx) => current.handle(request, ctx),
    context: (caller, init) => current.context(caller, init),
    reload,
    ...(providers.metrics ? { metrics: providers.metrics } : {}),
    ready: () => storeReady(store),
    rejected(info) {
      // Through the same telemetry as every request: one `rel.request` log record, the request
      // span, `rel.errors` by class and the duration histogram. The model is the alias only when
      // the body named a configured one: a caller's made-up name never becomes a metric label.
      const ctx = new RequestContext({
        ...(info.caller ? { principal: { orgId: info.caller.org, tier: info.caller.tier } } : {}),
        operation: 'chat',
        clock,
        events: hub,
      });
      const request: LlmRequest = { model: info.model ?? UNKNOWN_MODEL, messages: [] };
      telemetry
        .request(() => Promise.reject(info.error))(request, ctx)
        .catch(() => {});
      return ctx.requestId;
    },
    ...(adminKey
      ? {
          admin: {
            key: adminKey,
            controls,
            note: (fields: Record<string, unknown>) => note('rel.gateway.admin', fields),
          },
        }
      : {}),
    async start() {
      if (running) return running;
      // A process joining mid-incident serves the shared modes from its first request.
      await featureModes.refresh().catch(() => {});
      featureModes.start();
      running = await startHttpServer(gateway);
      note('rel.gateway.listening', { url: running.url, ...(adminKey ? { admin: true } : {}) });
      return running;
    },
    shutdown() {
      stopped ??= (async () => {
        await running?.shutdown();
        await featureModes.stop();
        // Deferred settlements (store unreachable) are written before the store closes.
        for (const policy of [current.pipeline.budget, ...retiredBudgets]) await policy.close();
        await telemetry.shutdown();
        await otel?.shutdown();
        if (!options.store) await store.close().catch(() => {});
      })();
      return stopped;
    },
  };
  return gateway;
}
