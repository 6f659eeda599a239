import type { Clock, EventHub, Middleware, RequestContext, TimeoutPhase } from '@rel/core';
import { z } from 'zod';
import { parseOptions } from './options';
import { RequestTimer, type ResolvedLimits } from './request-timer';
import { TimedStream } from './timed-stream';

const limit = z.number().positive().finite();

/**
 * Limits of one operation or route. Absent fields are unlimited (or inherited, see `timeouts`).
 * @example const chat: TimeoutLimits = { totalMs: 30_000, firstTokenMs: 5_000, idleMs: 10_000 };
 */
export const TimeoutLimitsSchema = z.strictObject({
  /** The whole request, stream included. */
  totalMs: limit.optional(),
  /** Streams: from the request's start to the first chunk. */
  firstTokenMs: limit.optional(),
  /** Streams: the longest wait for any later chunk. */
  idleMs: limit.optional(),
});
export type TimeoutLimits = z.infer<typeof TimeoutLimitsSchema>;

/**
 * Options of `timeouts`.
 * @example timeouts({ default: { totalMs: 30_000 }, routes: { 'fast-alias': { totalMs: 8_000 } } })
 */
export const TimeoutsOptionsSchema = z.strictObject({
  /** Limits for every request. */
  default: TimeoutLimitsSchema.optional(),
  /** Per operation (`ctx.operation`: `chat`, `embeddings`, ...); override `default` field by field. */
  operations: z.record(z.string(), TimeoutLimitsSchema).optional(),
  /** Per route (`req.model`, the alias or model asked for); override operations field by field. */
  routes: z.record(z.string(), TimeoutLimitsSchema).optional(),
});
export type TimeoutsOptions = z.input<typeof TimeoutsOptionsSchema> & {
  /** Default: the request context's clock. */
  clock?: Clock;
  /** Where `timeout` events go when the context has no hub. */
  events?: EventHub;
};

/**
 * Per-endpoint timeouts as a middleware. Limits are looked up by operation (`ctx.operation`) and
 * route (`req.model`): route over operation over `default`, field by field. When a limit passes,
 * the request's signal is aborted with a `RelError` `{ kind: 'timeout', phase, limitMs }` as its
 * reason, so the provider closes the socket and every layer can tell a timeout from the caller's
 * own cancel (`cancelled`). The total deadline is propagated to inner layers as `ctx.deadline`
 * (never widening an inherited one), and a request whose deadline has already passed does not
 * start. A `timeout` event is emitted on `ctx.events`.
 *
 * Place it inside `retry` for per-attempt limits, outside for one deadline over all attempts.
 * @throws TypeError at creation when an option is invalid (the message names the field).
 * @example
 * const handler = compose(
 *   timeouts({ default: { totalMs: 60_000 } }),                           // whole request
 *   retry({ maxAttempts: 3 }),
 *   timeouts({ operations: { chat: { totalMs: 20_000, firstTokenMs: 5_000, idleMs: 10_000 } } }), // per attempt
 * )(provider);
 */
export function timeouts(options: TimeoutsOptions = {}): Middleware {
  const { clock, events, ...data } = options;
  const o = parseOptions(TimeoutsOptionsSchema, data, 'timeouts');
  const resolve = limitsResolver(o);
  return (next) => async (req, ctx) => {
    const limits = resolve(ctx.operation, req.model);
    const stream = req.stream === true;
    if (ctx.deadline === undefined && (limits === undefined || (!stream && limits.totalMs === undefined))) {
      return next(req, ctx);
    }
    const hub = ctx.events ?? events;
    const timer = new RequestTimer(
      clock ?? ctx.clock,
      ctx,
      ctx.deadline,
      limits ?? {},
      stream,
      hub ? (phase, limitMs) => emitTimeout(hub, ctx, phase, limitMs) : noop,
    );
    if (timer.aborted || timer.expiredAtStart) {
      timer.finish();
      if (timer.aborted) throw timer.failure(undefined);
      timer.expireNow();
    }
    const child = ctx.derive(
      Number.isFinite(timer.deadline) ? { signal: timer, deadline: timer.deadline } : { signal: timer },
    );
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await timer.race(next(req, child));
    } catch (error) {
      timer.finish();
      throw timer.failure(error);
    }
    if (response.type === 'completion') {
      timer.finish();
      return response;
    }
    return { ...response, chunks: new TimedStream(response.chunks, timer) };
  };
}

const noop = () => {};

function emitTimeout(hub: EventHub, ctx: RequestContext, phase: TimeoutPhase, limitMs: number): void {
  if (hub.has('timeout')) hub.emit('timeout', { requestId: ctx.requestId, operation: ctx.operation, phase, limitMs });
}

/** Merges limits once per (operation, route) pair seen in the configuration. */
function limitsResolver(o: z.output<typeof TimeoutsOptionsSchema>) {
  const cache = new Map<string, ResolvedLimits | undefined>();
  const merge = (...parts: (TimeoutLimits | undefined)[]): ResolvedLimits | undefined => {
    const present = parts.filter((p): p is TimeoutLimits => p !== undefined);
    if (present.length === 0) return undefined;
    const out: { totalMs?: number; firstTokenMs?: number; idleMs?: number } = {};
    for (const p of present) {
      if (p.totalMs !== undefined) out.totalMs = p.totalMs;
      if (p.firstTokenMs !== undefined) out.firstTokenMs = p.firstTokenMs;
      if (p.idleMs !== undefined) out.idleMs = p.idleMs;
    }
    return out;
  };
  return (operation: string, route: string): ResolvedLimits | undefined => {
    const op = o.operations && Object.hasOwn(o.operations, operation) ? o.operations[operation] : undefined;
    const rt = o.routes && Object.hasOwn(o.routes, route) ? o.routes[route] : undefined;
    if (rt === undefined && op === undefined) return o.default;
    const key = `${operation}\u0000${rt === undefined ? '' : route}`;
    if (cache.has(key)) return cache.get(key);
    const merged = merge(o.default, op, rt);
    cache.set(key, merged);
    return merged;
  };
}
