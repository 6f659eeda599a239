import type { Abortable, Clock, Handler, LlmRequest, LlmResponse, Middleware, RequestContext } from '@rel/core';
import { failureOf } from './is-retryable';
import { discardResponse, peekStream } from './peeked-stream';
import { RetryCore } from './retry-core';
import type { RetryOptions } from './retry-options';

/**
 * The context attribute a routing layer (`@rel/fallback`'s router) sets to the name of the route
 * target it is calling, so attempts are recorded against that target without this package
 * depending on the router.
 * @example ctx.getAttribute(ROUTE_TARGET_ATTRIBUTE) // 'primary' while the router calls its target `primary`
 */
export const ROUTE_TARGET_ATTRIBUTE = 'rel.route.target';

/**
 * Options of the `retry` middleware: those of `retryPolicy`, plus the target attempts are recorded against.
 * @example retry({ maxAttempts: 3, target: 'openai-east' })
 */
export interface RetryMiddlewareOptions extends RetryOptions {
  /**
   * The route target named in each `AttemptRecord`. Default: the `rel.route.target` context
   * attribute (set by `@rel/fallback`'s router), else `provider:model` when the wrapped handler
   * names its provider, else the request's model.
   */
  target?: string;
}

/**
 * Retries for LLM handlers, as a middleware. Each attempt runs on a child context
 * (`ctx.derive({ attempt })`) that shares the request's records and its `idempotencyKey`, so every
 * attempt and hedge of one logical request sends the same `Idempotency-Key`; each attempt is
 * recorded with `ctx.recordAttempt`, numbered by `ctx.nextAttemptNumber()`.
 *
 * Streams: the first chunk is read inside the attempt, so a failure before anything reached the
 * caller is retried; after the first chunk, a failure surfaces as `stream_interrupted` (or the
 * idle `timeout`) for the fallback layer, never as a silent retry that would duplicate output.
 *
 * The deadline is `ctx.deadline` (set it with `timeouts` outside this middleware); a retry whose
 * wait cannot fit is not attempted, and a `Retry-After` longer than the time left fails at once
 * with `rate_limited` carrying the wait. Events (`retry`, `give-up`, `hedge`) go to `ctx.events`.
 * @throws TypeError at creation when an option is invalid (the message names the field).
 * @example
 * const handler = compose(
 *   timeouts({ default: { totalMs: 30_000 } }),
 *   retry({ maxAttempts: 4, budget: new RetryBudget({ ratio: 0.2 }) }),
 * )(openaiCompatible({ baseURL, apiKey }));
 */
export function retry(options: RetryMiddlewareOptions = {}): Middleware {
  const { target: fixed, ...policy } = options;
  if (fixed !== undefined && (typeof fixed !== 'string' || fixed.length === 0)) {
    throw new TypeError('retry: invalid option "target": expected a non-empty string');
  }
  const core = new RetryCore(policy, 'retry');
  return (next) => {
    // A provider handler names its provider (`@rel/providers` attaches `providerName`), so attempts
    // are recorded against `provider:model` targets as the records expect.
    const providerName = (next as { providerName?: unknown }).providerName;
    const prefix = typeof providerName === 'string' ? `${providerName}:` : '';
    return (req, ctx) => {
      const clock = core.clock ?? ctx.clock;
      const routed = fixed ?? ctx.getAttribute(ROUTE_TARGET_ATTRIBUTE);
      const target = typeof routed === 'string' && routed.length > 0 ? routed : prefix + req.model;
      return core.run(
        (abort, hedge) => attempt(next, target, req, ctx, clock, abort, hedge),
        {
          abort: ctx,
          deadline: ctx.deadline,
          clock,
          requestId: ctx.requestId,
          events: ctx.events ?? options.events,
          route: req.model,
        },
        discardResponse,
      );
    };
  };
}

async function attempt(
  next: Handler,
  target: string,
  req: LlmRequest,
  ctx: RequestContext,
  clock: Clock,
  abort: Abortable,
  hedge: boolean,
): Promise<LlmResponse> {
  const number = ctx.nextAttemptNumber();
  const startedAt = clock.now();
  const child = ctx.derive(abort === ctx ? { attempt: number } : { signal: abort, attempt: number });
  try {
    let response = await next(req, child);
    if (response.type === 'stream') response = await peekStream(response);
    ctx.recordAttempt({
      target,
      model: req.model,
      number,
      outcome: 'success',
      startedAt,
      durationMs: clock.now() - startedAt,
      ...(hedge ? { hedge } : {}),
    });
    return response;
  } catch (error) {
    ctx.recordAttempt({
      target,
      model: req.model,
      number,
      outcome: 'failure',
      failure: failureOf(error).kind,
      startedAt,
      durationMs: clock.now() - startedAt,
      ...(hedge ? { hedge } : {}),
    });
    throw error;
  }
}
