import {
  type Clock,
  type EventHub,
  type FallbackReason,
  type Handler,
  type LlmResponse,
  type RandomSource,
  RelError,
  type StateStore,
  abortReason,
  systemClock,
  systemRandom,
} from '@rel/core';
import { z } from 'zod';
import { Dispatch, type DispatchConfig } from './dispatch';
import { parseOptions } from './parse-options';
import { type DispatchTarget, type RoutedTarget, type Target, TargetFieldsSchema, routedTarget } from './target';
import { TriggersSchema } from './triggers';
import { weightedOrder } from './weighted-pick';

/** The plain-data options of a route; targets' functions are validated apart. */
export const RouterOptionsSchema = z.strictObject({
  targets: z.array(TargetFieldsSchema).min(1),
  triggers: TriggersSchema.default(TriggersSchema.parse({})),
  /** Target to go to when a prompt overflows a target's context window. */
  largerContext: z.string().min(1).optional(),
  /** Target a budget downgrade (`ctx.downgrade`) sends the request to. */
  downgradeTo: z.string().min(1).optional(),
  /** Mid-stream failover: continue an interrupted stream on a prefill-capable target. Default true. */
  continueWithPrefill: z.boolean().default(true),
});

/** Options of `router`. */
export interface RouterOptions extends Omit<z.input<typeof RouterOptionsSchema>, 'targets'> {
  /** In order of preference; see `Target`. */
  targets: readonly Target[];
  clock?: Clock;
  /** For weighted choice within a group. */
  random?: RandomSource;
  /** Receives breaker state changes of the breakers built from options. Fallbacks go to `ctx.events`. */
  events?: EventHub;
  /** Shares the state of the breakers built from options across instances (see `CircuitBreaker`). */
  store?: StateStore;
}

/** A routing handler, with its targets exposed for incident controls. */
export interface Router extends Handler {
  /** The targets by name, each with its breaker (`router.targets.get('primary')?.breaker?.forceOpen()`). */
  readonly targets: ReadonlyMap<string, RoutedTarget>;
}

/**
 * The terminal handler of a route: sends each request to its targets in order, each through its
 * own middlewares and circuit breaker, falling back on the configured triggers. Every fallback is
 * recorded in the context as (from, to, reason) and emitted as a `fallback` event. The answer
 * names the model that actually answered and carries only its usage.
 *
 * @throws RelError `invalid_request` naming the bad option, at construction.
 * @example
 * const route = router({
 *   targets: [
 *     { name: 'primary', handler: openai, model: 'gpt-4o', middlewares: [retry({ maxAttempts: 3 })] },
 *     { name: 'backup', handler: azure, model: 'gpt-4o', supportsPrefill: true },
 *     { name: 'long', handler: openai, model: 'gpt-4.1', contextWindow: 1_000_000 },
 *   ],
 *   largerContext: 'long',
 * });
 * const answer = await route(request, new RequestContext());
 */
export function router(options: RouterOptions): Router {
  const { targets, clock = systemClock, random = systemRandom, events, store, ...rest } = options;
  const fields = targets.map(({ handler, middlewares, breaker, ...f }) => f);
  const config = parseOptions(RouterOptionsSchema, { ...rest, targets: fields }, 'router');
  targets.forEach((t, i) => {
    if (typeof t.handler !== 'function') throw invalid(`targets.${i}.handler`, 'must be a function');
  });
  const byName = new Map<string, DispatchTarget>();
  config.targets.forEach((f, i) => {
    if (byName.has(f.name)) throw invalid(`targets.${i}.name`, `duplicate target name ${f.name}`);
    byName.set(f.name, routedTarget(targets[i]!, f, { clock, events, store }));
  });
  const lookup = (field: 'largerContext' | 'downgradeTo'): DispatchTarget | undefined => {
    const name = config[field];
    if (name === undefined) return undefined;
    const t = byName.get(name);
    if (!t) throw invalid(field, `names no target (${name})`);
    return t;
  };
  const largerContext = lookup('largerContext');
  const downgradeTo = lookup('downgradeTo');
  const ordered = [...byName.values()];
  const groups = groupTargets(ordered);
  const balanced = groups.some((g) => g.length > 1);
  const dispatchConfig: DispatchConfig = {
    triggers: config.triggers,
    largerContext,
    clock,
    stream: { continueWithPrefill: config.continueWithPrefill },
  };

  // Not async: the dispatch's promise is the answer, with no extra frame (a throw here rejects).
  const handle = (req: Parameters<Handler>[0], ctx: Parameters<Handler>[1]): Promise<LlmResponse> => {
    try {
      if (ctx.aborted) throw abortReason(ctx.signal);
      let plan = balanced
        ? groups.flatMap((g) =>
            weightedOrder(
              g,
              g.map((t) => t.weight),
              random,
            ),
          )
        : [...ordered];
      let pending: { from: string; reason: FallbackReason } | undefined;
      if (ctx.downgrade && downgradeTo && plan[0] !== downgradeTo) {
        pending = { from: plan[0]!.name, reason: 'budget_downgrade' };
        plan = plan.slice(plan.indexOf(downgradeTo));
      }
      return new Dispatch(req, ctx, plan, dispatchConfig, pending).answer();
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return Object.assign(handle, { targets: byName as ReadonlyMap<string, RoutedTarget> });
}

/** Targets grouped as equivalent deployments, each group at the place of its first member. */
function groupTargets(targets: readonly DispatchTarget[]): DispatchTarget[][] {
  const groups = new Map<string, DispatchTarget[]>();
  for (const t of targets) {
    const g = groups.get(t.group);
    if (g) g.push(t);
    else groups.set(t.group, [t]);
  }
  return [...groups.values()];
}

function invalid(field: string, message: string): RelError {
  return new RelError(
    { kind: 'invalid_request', param: `router.${field}` },
    { message: `invalid option router.${field}: ${message}` },
  );
}
