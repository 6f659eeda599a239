import type { Attributes } from '@opentelemetry/api';
import type { GuardrailAction, GuardrailStage } from '@rel/core';
import {
  ATTR_REL_GUARDRAIL_CATEGORIES,
  ATTR_REL_GUARDRAIL_LATENCY_MS,
  ATTR_REL_GUARDRAIL_NAME,
  ATTR_REL_GUARDRAIL_STAGE,
  ATTR_REL_GUARDRAIL_VERDICT,
} from './semconv';

/** The attributes of a `rel.guardrail.evaluated` span event: names and numbers only, never matched text. */
export function guardrailEventAttributes(v: {
  readonly name: string;
  readonly stage: GuardrailStage;
  readonly action: GuardrailAction;
  readonly categories: readonly string[];
  readonly latencyMs: number;
}): Attributes {
  return {
    [ATTR_REL_GUARDRAIL_NAME]: v.name,
    [ATTR_REL_GUARDRAIL_STAGE]: v.stage,
    [ATTR_REL_GUARDRAIL_VERDICT]: v.action,
    [ATTR_REL_GUARDRAIL_LATENCY_MS]: v.latencyMs,
    [ATTR_REL_GUARDRAIL_CATEGORIES]: [...v.categories],
  };
}
