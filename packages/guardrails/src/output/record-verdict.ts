import type { GuardrailAction, GuardrailVerdict, RequestContext } from '@rel/core';

/**
 * Records a guardrail's verdict in the request context and emits the `guardrail` event. The
 * payload carries names and categories only, never the text that was checked.
 */
export function recordGuardrail(ctx: RequestContext, verdict: GuardrailVerdict): void {
  ctx.recordVerdict(verdict);
  ctx.events?.emit('guardrail', {
    requestId: ctx.requestId,
    name: verdict.name,
    stage: verdict.stage,
    action: verdict.action,
    categories: verdict.categories,
    latencyMs: verdict.latencyMs,
  });
}

/**
 * Starts measuring a guard's own latency; call the result to read the milliseconds elapsed.
 * Uses the high-resolution `performance.now()`, not the request's `Clock`: a guard's work takes
 * well under a millisecond, which a millisecond clock (or a fake one) reports as 0. This is a
 * measurement only; no policy decision reads it.
 * @example
 * const elapsed = stopwatch();
 * scan(text);
 * recordGuardrail(ctx, { ...verdict, latencyMs: elapsed() });
 */
export function stopwatch(): () => number {
  const started = performance.now();
  return () => performance.now() - started;
}

const SEVERITY: Readonly<Record<GuardrailAction, number>> = {
  pass: 0,
  flag: 1,
  warn: 2,
  sanitize: 3,
  redact: 4,
  block: 5,
};

/** The more severe of two actions (pass < flag < warn < sanitize < redact < block). */
export function worstAction(a: GuardrailAction, b: GuardrailAction): GuardrailAction {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}
