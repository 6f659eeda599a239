import {
  type Clock,
  type EventHub,
  type Handler,
  type LlmRequest,
  type LlmResponse,
  type Middleware,
  type RequestContext,
  type StateStore,
  compose,
} from '@rel/core';
import { z } from 'zod';
import type { BreakerOptions } from './breaker-options';
import { CircuitBreaker } from './circuit-breaker';

/** The plain-data part of a target, validated by the router's factory. */
export const TargetFieldsSchema = z.strictObject({
  /** Unique within the route; named in fallbacks, events and breaker keys. */
  name: z.string().min(1),
  /** The model the request is sent as (the request's `model` is rewritten to it). */
  model: z.string().min(1),
  /** Share of traffic among the targets of the same `group`. Default 1. */
  weight: z.number().nonnegative().default(1),
  /**
   * Targets with the same group are equivalent deployments: the group takes the place of its first
   * member in the route, and its members are ordered by weighted random choice on each request.
   */
  group: z.string().min(1).optional(),
  /** The target accepts a trailing assistant message as the start of its answer (mid-stream continuation). */
  supportsPrefill: z.boolean().default(false),
  /** Prompt tokens the model accepts; used to pick a larger-context target. */
  contextWindow: z.number().int().positive().optional(),
});

/**
 * One place a request can be served: a provider handler and a model, with its own middlewares
 * (retry, timeouts...) and its own circuit breaker.
 */
export interface Target {
  name: string;
  handler: Handler;
  model: string;
  /** Run around `handler` for this target only, first listed outermost. */
  middlewares?: readonly Middleware[];
  weight?: number;
  group?: string;
  /** Breaker options, a breaker instance (to control or share it), or `false` for none. Default: a breaker with default options. */
  breaker?: BreakerOptions | CircuitBreaker | false;
  supportsPrefill?: boolean;
  contextWindow?: number;
}

/**
 * The context attribute the router sets, for the duration of each target call, to the name of the
 * target it is calling. `@rel/retry` reads it (same key) to record attempts against route targets.
 * @example ctx.getAttribute(ROUTE_TARGET_ATTRIBUTE) // 'primary', inside the target `primary`'s middlewares
 */
export const ROUTE_TARGET_ATTRIBUTE = 'rel.route.target';

/** A target ready to be called, as the router holds it. */
export interface RoutedTarget {
  readonly name: string;
  readonly model: string;
  readonly weight: number;
  readonly group: string;
  readonly supportsPrefill: boolean;
  readonly contextWindow: number | undefined;
  readonly breaker: CircuitBreaker | undefined;
  /**
   * Sends `req` with `model` rewritten through the target's middlewares. `calls` counts how many
   * times the middlewares called the provider handler (more than one: the target retried).
   */
  call(req: LlmRequest, ctx: RequestContext): Promise<TargetResult>;
}

/** What one dispatch to a target produced. */
export type TargetResult =
  | { readonly ok: true; readonly response: LlmResponse; readonly calls: number }
  | { readonly ok: false; readonly error: unknown; readonly calls: number };

/** One request's provider calls through one target, counted while any of them is in flight. */
export interface CallCount {
  calls: number;
  users: number;
}

/**
 * A routed target as the router's dispatch drives it: `call`'s bookkeeping in two halves, so the
 * dispatch can await the target's `pipeline` in its own frame instead of through `call`'s.
 * @internal
 */
export interface DispatchTarget extends RoutedTarget {
  /** Requests with a call of this target in flight (entries of the call counts). */
  readonly inFlightRequests: number;
  /** The target's middlewares around its provider handler. */
  readonly pipeline: Handler;
  /**
   * Starts a call of this target for `ctx`'s request: counts its provider calls and names the
   * target on `ctx` (`ROUTE_TARGET_ATTRIBUTE`). Pair with one `end(ctx, scope)`, in a `finally`.
   */
  begin(ctx: RequestContext): CallScope;
  /** Ends a call `begin` started; returns the provider calls it made. */
  end(ctx: RequestContext, scope: CallScope): number;
}

/** A call of a target in progress: what `end` needs to undo `begin`. @internal */
export interface CallScope {
  readonly count: CallCount;
  /** The request's provider calls through this target before this call. */
  readonly before: number;
  /** The target named on the context before this call. */
  readonly outer: unknown;
}

/** Collaborators the breakers built from options receive. */
export interface TargetDeps {
  clock: Clock;
  events: EventHub | undefined;
  store: StateStore | undefined;
}

/**
 * Builds a callable target. Failures come back as values, not exceptions.
 *
 * Provider calls are counted per request id while a call is in flight (hedges count: they are
 * calls too), and the entry is dropped when the last call of that request id returns, so the map
 * holds at most the requests in flight (`inFlightRequests`).
 * @throws RelError `invalid_request` naming the bad field.
 * @internal
 */
export function routedTarget(
  target: Target,
  fields: z.output<typeof TargetFieldsSchema>,
  deps: TargetDeps,
): DispatchTarget {
  const counts = new Map<string, CallCount>();
  // The count of one request id is kept outside the map: with one request in flight at a time
  // (the common case per target) no map insert and delete per call, each of which rehashes the
  // map's table when it empties. Further requests in flight at once go to the map.
  let soloId: string | undefined;
  let solo: CallCount | undefined;
  const countOf = (id: string): CallCount | undefined => (id === soloId ? solo : counts.get(id));
  const counting: Handler = (req, ctx) => {
    const entry = countOf(ctx.requestId);
    if (entry) entry.calls++;
    return target.handler(req, ctx);
  };
  const track = (id: string): CallCount => {
    let entry = countOf(id);
    if (!entry) {
      entry = { calls: 0, users: 0 };
      if (soloId === undefined) {
        soloId = id;
        solo = entry;
      } else counts.set(id, entry);
    }
    entry.users++;
    return entry;
  };
  const untrack = (id: string, entry: CallCount): void => {
    if (--entry.users > 0) return;
    if (entry === solo) {
      soloId = undefined;
      solo = undefined;
    } else counts.delete(id);
  };
  const begin = (ctx: RequestContext): CallScope => {
    const count = track(ctx.requestId);
    // Names this target to the middlewares (retry records attempts against it) while it runs.
    const outer = ctx.getAttribute(ROUTE_TARGET_ATTRIBUTE);
    ctx.setAttribute(ROUTE_TARGET_ATTRIBUTE, fields.name);
    return { count, before: count.calls, outer };
  };
  const end = (ctx: RequestContext, scope: CallScope): number => {
    const calls = scope.count.calls - scope.before;
    untrack(ctx.requestId, scope.count);
    if (ctx.getAttribute(ROUTE_TARGET_ATTRIBUTE) === fields.name) ctx.setAttribute(ROUTE_TARGET_ATTRIBUTE, scope.outer);
    return calls;
  };
  const pipeline = compose(...(target.middlewares ?? []))(counting);
  const breaker =
    target.breaker === false
      ? undefined
      : target.breaker instanceof CircuitBreaker
        ? target.breaker
        : new CircuitBreaker({
            ...(target.breaker ?? {}),
            name: fields.name,
            clock: deps.clock,
            ...(deps.events ? { events: deps.events } : {}),
            ...(deps.store ? { store: deps.store } : {}),
          });
  return {
    name: fields.name,
    model: fields.model,
    weight: fields.weight,
    group: fields.group ?? `\u0000${fields.name}`,
    supportsPrefill: fields.supportsPrefill,
    contextWindow: fields.contextWindow,
    breaker,
    get inFlightRequests() {
      return counts.size + (soloId === undefined ? 0 : 1);
    },
    pipeline,
    begin,
    end,
    async call(req, ctx) {
      const scope = begin(ctx);
      let failed = false;
      let response: LlmResponse | undefined;
      let error: unknown;
      try {
        response = await pipeline(req.model === fields.model ? req : { ...req, model: fields.model }, ctx);
      } catch (e) {
        failed = true;
        error = e;
      }
      const calls = end(ctx, scope);
      return failed ? { ok: false, error, calls } : { ok: true, response: response as LlmResponse, calls };
    },
  };
}
