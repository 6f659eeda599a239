import { RelError } from '@rel/core';
import type { AdminControls, BreakerView, FeatureView, ReloadResult } from './admin';
import type { GatewayConfig } from './config';
import { type FeatureModes, forcedAnswerOf } from './feature-modes';
import type { Pipeline, RouteBreaker } from './pipeline';

/** What the incident controls act on. */
export interface AdminControlDeps {
  /** The running generation (a reload replaces it). */
  generation(): { readonly config: GatewayConfig; readonly pipeline: Pipeline; readonly version: AdminStateVersion };
  readonly featureModes: FeatureModes;
  reload(): Promise<ReloadResult>;
  /** An operational line (the admin key is never passed here). */
  note(event: string, fields: Record<string, unknown>): void;
}

type AdminStateVersion = Awaited<ReturnType<AdminControls['state']>>['config'];

/**
 * The incident controls of a gateway: breakers forced open or closed (through the router
 * target's own breaker, so with shared breakers every instance sees it), features forced to
 * their degraded answer (through `FeatureModes`, shared by every instance when it has a store),
 * and config reload.
 * @example const controls = adminControls({ generation: () => current, featureModes, reload, note });
 */
export function adminControls(deps: AdminControlDeps): AdminControls {
  const breakerView = async (b: RouteBreaker): Promise<BreakerView> => ({
    alias: b.alias,
    target: b.target,
    state: await b.breaker.refresh(),
    forced: b.breaker.forced,
  });
  const featureView = (config: GatewayConfig, name: string): FeatureView => ({
    name,
    critical: config.features[name]?.critical ?? true,
    mode: deps.featureModes.mode(name),
    answer: forcedAnswerOf(config, name) ?? null,
  });

  return {
    async state() {
      // The modes other instances set reach this one on its next refresh; read them now.
      await deps.featureModes.refresh();
      const g = deps.generation();
      return {
        config: g.version,
        breakers: await Promise.all([...g.pipeline.breakers.values()].map(breakerView)),
        features: Object.keys(g.config.features).map((name) => featureView(g.config, name)),
      };
    },
    async breaker(alias, target, action) {
      const g = deps.generation();
      const model = Object.hasOwn(g.config.models, alias) ? g.pipeline.routers.get(alias) : undefined;
      if (!model) throw notFound(`no model alias "${alias}"`);
      if (!model.targets.has(target)) throw notFound(`model alias "${alias}" has no route "${target}"`);
      const b = g.pipeline.breakers.get(`${alias}/${target}`);
      if (!b) throw conflict(`route "${alias}/${target}" has no breaker (breaker: false)`);
      if (action === 'open') await b.breaker.forceOpen();
      else if (action === 'close') await b.breaker.forceClose();
      else await b.breaker.reset();
      deps.note('rel.gateway.breaker_forced', { alias, target, action });
      return breakerView(b);
    },
    async feature(name, mode) {
      const { config } = deps.generation();
      if (!Object.hasOwn(config.features, name)) throw notFound(`no feature "${name}" in features`);
      if (mode === 'degraded' && forcedAnswerOf(config, name) === undefined)
        throw conflict(`feature "${name}" has neither degraded nor safeDefault: nothing to answer with`);
      // Shared modes are written to the store first: a store failure answers an error, nothing changed.
      await deps.featureModes.set(name, mode);
      deps.note('rel.gateway.feature_mode', { feature: name, mode, shared: deps.featureModes.shared });
      return featureView(config, name);
    },
    reload: () => deps.reload(),
  };
}

function notFound(message: string): RelError {
  return new RelError({ kind: 'invalid_request', status: 404 }, { message });
}

function conflict(message: string): RelError {
  return new RelError({ kind: 'invalid_request', status: 409 }, { message });
}
