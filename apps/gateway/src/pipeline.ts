import { BudgetPolicy, type BudgetLogger, budget } from '@rel/budget';
import {
  type Clock,
  type EventHub,
  type Handler,
  type Middleware,
  RelError,
  type StateStore,
  compose,
} from '@rel/core';
import { CircuitBreaker, type FeatureFallback, type Router, type Target, degrade, router } from '@rel/fallback';
import { caps, injectionGuard, outputPolicy, piiGuard, structuredOutput } from '@rel/guardrails';
import { type FetchFunction, type ProviderHandler, anthropic, openaiCompatible } from '@rel/providers';
import { RetryBudget, retry, timeouts } from '@rel/retry';
import type { Telemetry } from '@rel/telemetry';
import { type GatewayConfig, budgetConfigOf, routeName } from './config';
import { FeatureModes, forcedDegrade } from './feature-modes';

/** What the pipeline is built from; everything is made once, at start-up. */
export interface PipelineDeps {
  readonly config: GatewayConfig;
  readonly telemetry: Telemetry;
  readonly store: StateStore;
  readonly hub: EventHub;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch?: FetchFunction;
  readonly logger?: BudgetLogger;
  /** The features an operator forced degraded (shared across reloads). Default: none ever. */
  readonly featureModes?: FeatureModes;
  /**
   * The pipeline this one replaces (a config reload): a route that keeps its alias, name and
   * breaker options keeps its breaker, state and counters included; one whose options changed
   * gets a new breaker that keeps a manual `forceOpen`/`forceClose`.
   */
  readonly previous?: Pipeline;
}

/** One route's breaker, as the admin API lists it. */
export interface RouteBreaker {
  readonly alias: string;
  readonly target: string;
  readonly breaker: CircuitBreaker;
  /** The options it was built from (JSON), to tell whether a reload changed them. */
  readonly options: string;
}

/** The composed handler and the parts an operator may want to reach (breakers, budget). */
export interface Pipeline {
  /** Answers one request through every middleware, in the order documented in `buildPipeline`. */
  readonly handler: Handler;
  /** One router per model alias, with its targets and their breakers (incident controls). */
  readonly routers: ReadonlyMap<string, Router>;
  /** Every route's breaker, keyed `<alias>/<target>`. */
  readonly breakers: ReadonlyMap<string, RouteBreaker>;
  readonly budget: BudgetPolicy;
}

const passThrough: Middleware = (next) => next;
/** A middleware only when a guard is switched on, so a disabled guard costs nothing. */
const when = (on: boolean, mw: () => Middleware): Middleware => (on ? mw() : passThrough);

/**
 * THE composition of the gateway, outermost first:
 *
 * 1. `telemetry.request`: outermost, so the span, the metrics and the one log record see every
 *    outcome, refusals by the budget and the guards included.
 * 2. `timeouts` (whole request): one deadline over everything below, retries and fallbacks included.
 * 3. `caps`: clamps `max_tokens` per tier and alias before the reservation is priced (an absurd
 *    `max_tokens` would otherwise reserve an absurd amount), and caps tool-call loops.
 * 4. `budget`: rate limits and the budget reservation come before the input guardrails, so a flood
 *    is refused before it costs any CPU; settlement happens on the way back (at a stream's end),
 *    covering re-asks and failed attempts that were billed.
 * 5. `injectionGuard`, then `piiGuard`: input guardrails. Injection scans the text as the user
 *    wrote it; PII is tokenized after it, so nothing below (degrade, output policy, re-asks,
 *    routes, providers) ever sees a raw value, and restored on the way back.
 * 6. `degrade`: a non-critical feature's degraded answer or a safe default replaces a hard failure
 *    of the routes (or an output that stayed malformed after the re-asks).
 * 7. `outputPolicy`: checks what the model wrote (placeholders, not the user's restored PII) with
 *    the only hold-back buffer of the stream; its canary is planted after PII tokenization, so it
 *    reaches the model intact.
 * 8. `structuredOutput`: validates, repairs and re-asks; inside the output policy so the policy
 *    checks only the final, valid answer.
 * 9. the alias router: fallback over the alias' routes, each route being
 *    `breaker(retry(timeouts(telemetry.attempt(provider))))`: the breaker (in the router) sees one
 *    outcome per route call, so an open breaker skips the route without spending retries; each
 *    retry attempt gets its own first-token, idle and total limits; each provider call gets its
 *    own CLIENT span.
 *
 * @example
 * const { handler } = buildPipeline({ config, telemetry, store, hub, clock: systemClock, env: process.env });
 * await handler({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] }, new RequestContext({ events: hub }));
 */
export function buildPipeline(deps: PipelineDeps): Pipeline {
  const { config, telemetry, store, clock } = deps;
  const g = config.guardrails;
  const policy = new BudgetPolicy({
    ...budgetConfigOf(config),
    store,
    clock,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const breakers = new Map<string, RouteBreaker>();
  const routers = buildRouters(deps, breakers);
  const aliasRouter: Handler = (req, ctx) => {
    const route = routers.get(req.model);
    if (!route)
      throw new RelError({ kind: 'invalid_request', param: 'model' }, { message: `unknown model "${req.model}"` });
    return route(req, ctx);
  };

  const handler = compose(
    telemetry.request,
    timeouts(requestTimeouts(config)),
    caps(g.caps),
    budget(policy),
    when(g.injection.policy !== 'off', () =>
      injectionGuard({
        policy: g.injection.policy === 'off' ? 'flag' : g.injection.policy,
        profile: g.injection.profile,
        untrustedProfile: g.injection.untrustedProfile,
      }),
    ),
    when(g.pii.mode !== 'off', () =>
      piiGuard({
        mode: g.pii.mode === 'off' ? 'tokenize' : g.pii.mode,
        ...(g.pii.types ? { types: g.pii.types } : {}),
        ...(g.pii.defaultCountry ? { defaultCountry: g.pii.defaultCountry } : {}),
      }),
    ),
    forcedDegrade(config, deps.featureModes ?? new FeatureModes()),
    degrade({ features: featureFallbacks(config) }),
    when(g.output.deny.length > 0 || g.output.canary || g.output.pii !== undefined, () =>
      outputPolicy({
        deny: g.output.deny,
        ...(g.output.canary ? { canary: true as const } : {}),
        ...(g.output.pii ? { pii: g.output.pii } : {}),
        ...(g.output.holdBackChars ? { holdBackChars: g.output.holdBackChars } : {}),
      }),
    ),
    structuredOutput({ maxReasks: g.structured.maxReasks }),
  )(aliasRouter);
  return { handler, routers, breakers, budget: policy };
}

/** Whole-request limits: the defaults, with each alias' own `timeouts` as a route entry. */
function requestTimeouts(config: GatewayConfig) {
  const routes = { ...(config.defaults.timeouts.routes ?? {}) };
  for (const [alias, m] of Object.entries(config.models)) if (m.timeouts) routes[alias] = m.timeouts;
  return { ...config.defaults.timeouts, routes };
}

function featureFallbacks(config: GatewayConfig): Record<string, FeatureFallback> {
  const out: Record<string, FeatureFallback> = {};
  for (const [name, f] of Object.entries(config.features)) {
    if (f.degraded === undefined && f.safeDefault === undefined) continue;
    out[name] = {
      ...(f.degraded !== undefined ? { degraded: { type: 'static', text: f.degraded } } : {}),
      ...(f.safeDefault !== undefined ? { safeDefault: f.safeDefault } : {}),
    };
  }
  return out;
}

function buildProviders(deps: PipelineDeps): Map<string, ProviderHandler> {
  const out = new Map<string, ProviderHandler>();
  for (const [name, p] of Object.entries(deps.config.providers)) {
    const apiKey = p.apiKeyEnv ? (deps.env[p.apiKeyEnv] ?? '') : '';
    const headers = { ...(p.headers ?? {}) };
    for (const [h, envName] of Object.entries(p.headersFromEnv ?? {})) headers[h] = deps.env[envName] ?? '';
    const common = {
      baseURL: p.baseURL,
      apiKey,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    };
    out.set(
      name,
      p.type === 'anthropic'
        ? anthropic(common)
        : openaiCompatible({ ...common, ...(p.maxTokensField ? { maxTokensField: p.maxTokensField } : {}) }),
    );
  }
  return out;
}

function buildRouters(deps: PipelineDeps, breakers: Map<string, RouteBreaker>): Map<string, Router> {
  const { config, telemetry, store, hub, clock } = deps;
  const providers = buildProviders(deps);
  const shared = config.store.type === 'redis';
  const rb = config.defaults.retryBudget;
  const retryBudget =
    rb === false ? undefined : new RetryBudget({ ...rb, clock, ...(shared ? { store, key: 'retry-budget' } : {}) });
  const attemptSpans = new Map<string, Middleware>();
  const attemptSpan = (provider: ProviderHandler): Middleware => {
    let mw = attemptSpans.get(provider.baseURL);
    if (!mw) {
      mw = telemetry.attempt({
        provider: provider.providerName,
        serverAddress: provider.serverAddress,
        serverPort: provider.serverPort,
      });
      attemptSpans.set(provider.baseURL, mw);
    }
    return mw;
  };

  const sharedBreakers = shared && config.store.type === 'redis' && config.store.shareBreakers;
  const breakerOf = (alias: string, name: string, options: Exclude<Target['breaker'], undefined | CircuitBreaker>) => {
    if (options === false) return false;
    const key = `${alias}/${name}`;
    const json = JSON.stringify(options);
    const old = deps.previous?.breakers.get(key);
    if (old && old.options === json) {
      breakers.set(key, old);
      return old.breaker;
    }
    const breaker = new CircuitBreaker({
      ...options,
      name,
      clock,
      events: hub,
      ...(sharedBreakers ? { store } : {}),
    });
    // A manual hold outlives a reload (with shared breakers it already lives in the store).
    if (old?.breaker.forced && !sharedBreakers)
      void (old.breaker.state === 'open' ? breaker.forceOpen() : breaker.forceClose());
    breakers.set(key, { alias, target: name, breaker, options: json });
    return breaker;
  };

  const routers = new Map<string, Router>();
  for (const [alias, m] of Object.entries(config.models)) {
    const targets: Target[] = m.routes.map((r) => {
      const provider = providers.get(r.provider) as ProviderHandler;
      const retryOptions = r.retry ?? config.defaults.retry;
      const breaker = breakerOf(alias, routeName(r), r.breaker ?? config.defaults.breaker);
      return {
        name: routeName(r),
        model: r.model,
        handler: provider,
        middlewares: [
          retry({ ...retryOptions, ...(retryBudget ? { budget: retryBudget } : {}) }),
          timeouts({ default: r.timeouts ?? config.defaults.attempt }),
          attemptSpan(provider),
        ],
        breaker,
        ...(r.weight !== undefined ? { weight: r.weight } : {}),
        ...(r.group !== undefined ? { group: r.group } : {}),
        ...(r.supportsPrefill !== undefined ? { supportsPrefill: r.supportsPrefill } : {}),
        ...(r.contextWindow !== undefined ? { contextWindow: r.contextWindow } : {}),
      };
    });
    routers.set(
      alias,
      router({
        targets,
        ...(m.triggers ? { triggers: m.triggers } : {}),
        ...(m.largerContext ? { largerContext: m.largerContext } : {}),
        ...(m.downgradeTo ? { downgradeTo: m.downgradeTo } : {}),
        clock,
        events: hub,
        ...(sharedBreakers ? { store } : {}),
      }),
    );
  }
  return routers;
}
