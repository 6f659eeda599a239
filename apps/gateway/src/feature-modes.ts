import { type Completion, type Middleware, completionAsStream } from '@rel/core';
import { DEGRADED_MODEL, type SafeDefault, safeDefaultAnswer, staticCompletion } from '@rel/fallback';
import type { GatewayConfig } from './config';

/** How a feature is served: `normal` (its routes), or `degraded` (its static answer, no route called). */
export type FeatureMode = 'normal' | 'degraded';

/**
 * The incident switch of each feature, shared by every pipeline a gateway builds (it survives a
 * config reload). A feature forced to `degraded` gets its `degraded` text (or else its
 * `safeDefault`) without any route being called, until it is set back to `normal`.
 * @example
 * const modes = new FeatureModes();
 * modes.set('suggestions', 'degraded'); // every request of the feature now answers statically
 */
export class FeatureModes {
  readonly #degraded = new Set<string>();

  /** The mode of `feature`. */
  mode(feature: string): FeatureMode {
    return this.#degraded.has(feature) ? 'degraded' : 'normal';
  }

  /** Sets the mode of `feature`. */
  set(feature: string, mode: FeatureMode): void {
    if (mode === 'degraded') this.#degraded.add(feature);
    else this.#degraded.delete(feature);
  }

  /** True when at least one feature is forced degraded (the hot path checks this first). */
  get any(): boolean {
    return this.#degraded.size > 0;
  }

  /** The features forced degraded. */
  degraded(): string[] {
    return [...this.#degraded];
  }
}

/**
 * What a feature answers when forced degraded: `degraded` (its static text), `safe_default`, or
 * `undefined` when it has neither (it cannot be forced).
 */
export function forcedAnswerOf(config: GatewayConfig, feature: string): 'degraded' | 'safe_default' | undefined {
  const f = Object.hasOwn(config.features, feature) ? config.features[feature] : undefined;
  if (f?.degraded !== undefined) return 'degraded';
  if (f?.safeDefault !== undefined) return 'safe_default';
  return undefined;
}

/**
 * Serves the features an operator forced to `degraded` mode without calling their routes: the
 * feature's `degraded` text (critical or not: the operator asked), else its safe default when it
 * fits the request's response format; otherwise the request goes on as normal. Recorded like an
 * automatic degradation (`ctx.markDegraded`, event `degraded`, `rel.degradations`), with reason
 * `forced`, so dashboards tell an operator's decision from a failure.
 * @example compose(forcedDegrade(config, modes), degrade({ features }))(routes)
 */
export function forcedDegrade(config: GatewayConfig, modes: FeatureModes): Middleware {
  return (next) => (req, ctx) => {
    if (!modes.any || modes.mode(ctx.feature.name) === 'normal') return next(req, ctx);
    const f = config.features[ctx.feature.name];
    let answer: Completion | undefined;
    if (f?.degraded !== undefined) {
      answer = staticCompletion(f.degraded, DEGRADED_MODEL, req.model);
      ctx.markDegraded('forced');
      ctx.events?.emit('degraded', { requestId: ctx.requestId, feature: ctx.feature.name, reason: 'forced' });
    } else if (f?.safeDefault !== undefined) {
      const fallback = safeDefaultAnswer(f.safeDefault as SafeDefault, req);
      if (fallback.ok) {
        answer = fallback.completion;
        ctx.markSafeDefault('forced');
        ctx.events?.emit('safe-default', {
          requestId: ctx.requestId,
          feature: ctx.feature.name,
          reason: 'forced',
        });
      }
    }
    if (!answer) return next(req, ctx);
    return Promise.resolve(req.stream ? completionAsStream(answer) : answer);
  };
}
