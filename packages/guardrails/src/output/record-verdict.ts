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
