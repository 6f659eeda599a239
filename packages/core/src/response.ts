import { z } from 'zod';
import { AssistantMessageSchema } from './request';

/** Token usage as billed. Cached and reasoning tokens are subsets reported where the provider has them. */
export const UsageSchema = z.strictObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative().optional(),
  cacheCreationInputTokens: z.number().int().nonnegative().optional(),
  reasoningTokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const FinishReasonSchema = z.enum(['stop', 'length', 'tool_calls', 'content_filter']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

/** A complete (non-streamed) answer. */
export const CompletionSchema = z.strictObject({
  type: z.literal('completion'),
  /** Provider's response id. */
  id: z.string(),
  /** The model the request was sent to (after routing). */
  requestedModel: z.string(),
  /** The exact model version that answered, as the provider reported it. */
  model: z.string(),
  /** Provider name, such as `openai` or `anthropic`. */
  provider: z.string().optional(),
  message: AssistantMessageSchema,
  finishReason: FinishReasonSchema,
  usage: UsageSchema,
});
export type Completion = z.infer<typeof CompletionSchema>;

/** One event of a streamed answer. A stream that never yields `finish` was interrupted. */
export type StreamChunk =
  | { readonly type: 'text-delta'; readonly text: string }
  | {
      readonly type: 'tool-call-delta';
      readonly index: number;
      readonly id?: string;
      readonly name?: string;
      readonly argumentsDelta?: string;
    }
  | {
      readonly type: 'finish';
      readonly finishReason: FinishReason;
      readonly id?: string;
      /** The exact model version that answered. */
      readonly model?: string;
      readonly usage?: Usage;
    };

/**
 * A streamed answer. The handler resolves once the stream is open; the chunks arrive through
 * `chunks`, which each middleware may wrap. Failures after the stream opened are thrown from the
 * iterator as `RelError`s.
 */
export interface StreamingCompletion {
  readonly type: 'stream';
  readonly requestedModel: string;
  readonly provider?: string;
  readonly chunks: AsyncIterable<StreamChunk>;
}

export type LlmResponse = Completion | StreamingCompletion;

/** Adds two usages field by field; optional fields stay absent when both are absent. */
export function addUsage(a: Usage, b: Usage): Usage {
  const sum = (x?: number, y?: number) => (x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0));
  const out: Usage = { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
  const cached = sum(a.cachedInputTokens, b.cachedInputTokens);
  const created = sum(a.cacheCreationInputTokens, b.cacheCreationInputTokens);
  const reasoning = sum(a.reasoningTokens, b.reasoningTokens);
  if (cached !== undefined) out.cachedInputTokens = cached;
  if (created !== undefined) out.cacheCreationInputTokens = created;
  if (reasoning !== undefined) out.reasoningTokens = reasoning;
  return out;
}

export const zeroUsage: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0 });
