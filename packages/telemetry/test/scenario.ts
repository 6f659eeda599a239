import {
  type EventHub,
  type Handler,
  type LlmRequest,
  type Middleware,
  type RequestContext,
  toRelError,
} from '@rel/core';
import type { FakeClock } from '@rel/core/testing';

/** Input-token and output-token prices of the test's price table, USD per token. */
export const PRICES = { input: 3e-6, output: 15e-6 } as const;
export const BUDGET_LIMIT_USD = 10;
export const RETRY_DELAY_MS = 50;

/**
 * A tiny retry loop, as @rel/retry would run it: numbers each attempt, records it on the
 * context, emits `retry` and waits on the request's clock before trying again.
 */
export function retrying(target: string, handler: Handler, tries: number, hub: EventHub): Handler {
  return async (req, ctx) => {
    for (let i = 1; ; i++) {
      const number = ctx.nextAttemptNumber();
      const startedAt = ctx.clock.now();
      try {
        const res = await handler(req, ctx.derive({ attempt: number }));
        ctx.recordAttempt({
          target,
          model: req.model,
          number,
          outcome: 'success',
          startedAt,
          durationMs: ctx.clock.now() - startedAt,
        });
        return res;
      } catch (error) {
        const failure = toRelError(error, ctx.signal).failure;
        ctx.recordAttempt({
          target,
          model: req.model,
          number,
          outcome: 'failure',
          failure: failure.kind,
          startedAt,
          durationMs: ctx.clock.now() - startedAt,
        });
        if (i >= tries) throw error;
        hub.emit('retry', { requestId: ctx.requestId, attempt: i + 1, delayMs: RETRY_DELAY_MS, reason: failure.kind });
        await ctx.clock.sleep(RETRY_DELAY_MS, ctx.signal);
      }
    }
  };
}

/** Routes to `primary` and falls back to `secondary` when it gives up, as @rel/fallback would. */
export function fallingBack(
  primary: { target: string; model: string; handler: Handler },
  secondary: { target: string; model: string; handler: Handler },
  hub: EventHub,
): Handler {
  return async (req, ctx) => {
    try {
      return await primary.handler({ ...req, model: primary.model }, ctx);
    } catch {
      const fallback = { from: primary.target, to: secondary.target, reason: 'retries_exhausted' as const };
      ctx.recordFallback({ ...fallback, at: ctx.clock.now() });
      hub.emit('fallback', { requestId: ctx.requestId, ...fallback });
      return secondary.handler({ ...req, model: secondary.model }, ctx);
    }
  };
}

/** Prices the usage once the answer (or its stream) is complete, as @rel/budget would. */
export const charging: Middleware = (next) => async (req, ctx) => {
  const res = await next(req, ctx);
  const charge = () => {
    const inputUsd = ctx.usage.inputTokens * PRICES.input;
    const outputUsd = ctx.usage.outputTokens * PRICES.output;
    ctx.recordCost({ inputUsd, outputUsd, totalUsd: inputUsd + outputUsd });
    ctx.setAttribute('rel.budget.remaining', BUDGET_LIMIT_USD - ctx.cost.totalUsd);
  };
  if (res.type === 'completion') {
    charge();
    return res;
  }
  return {
    ...res,
    chunks: (async function* () {
      yield* res.chunks;
      charge();
    })(),
  };
};

/** An input guardrail that passes everything, recording and emitting its verdict like @rel/guardrails. */
export function passingGuardrail(hub: EventHub | undefined): Middleware {
  return (next) => async (req: LlmRequest, ctx: RequestContext) => {
    const verdict = { name: 'pii', stage: 'input' as const, action: 'pass' as const, categories: [], latencyMs: 2 };
    ctx.recordVerdict(verdict);
    hub?.emit('guardrail', { requestId: ctx.requestId, ...verdict });
    return next(req, ctx);
  };
}

/**
 * Runs `work` while advancing the fake clock until it settles. The work may pause on real I/O
 * (an exporter flush) while nobody sleeps, so the clock is driven again until the work is done.
 */
export async function drive<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let done = false;
  const settled = () => {
    done = true;
  };
  work.then(settled, settled);
  while (!done) {
    await clock.runAll();
    if (!done) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return work;
}
