import type { Attributes } from '@opentelemetry/api';
import type { LlmRequest, RequestContext } from '@rel/core';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
} from './semconv';

/**
 * The GenAI request attributes both spans carry (operation, requested model, stream, max tokens,
 * temperature), as a fresh object each span adds its own attributes to.
 */
export function genAiRequestAttributes(req: LlmRequest, ctx: RequestContext): Attributes {
  const attrs: Attributes = {
    [ATTR_GEN_AI_OPERATION_NAME]: ctx.operation,
    [ATTR_GEN_AI_REQUEST_MODEL]: req.model,
    [ATTR_GEN_AI_REQUEST_STREAM]: req.stream === true,
  };
  if (req.maxTokens !== undefined) attrs[ATTR_GEN_AI_REQUEST_MAX_TOKENS] = req.maxTokens;
  if (req.temperature !== undefined) attrs[ATTR_GEN_AI_REQUEST_TEMPERATURE] = req.temperature;
  return attrs;
}
