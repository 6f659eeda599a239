import { describe, expect, it } from 'vitest';
import { CompletionSchema, UsageSchema, addUsage, zeroUsage } from './response';

const issuePath = (r: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }) =>
  r.error?.issues[0]?.path.join('.');

describe('usage and completion', () => {
  it('adds usages field by field and keeps optional fields absent when both lack them', () => {
    expect(addUsage({ inputTokens: 1, outputTokens: 2 }, { inputTokens: 3, outputTokens: 4 })).toEqual({
      inputTokens: 4,
      outputTokens: 6,
    });
    expect(
      addUsage(
        { inputTokens: 10, outputTokens: 1, cachedInputTokens: 4, reasoningTokens: 2 },
        { inputTokens: 5, outputTokens: 1, cacheCreationInputTokens: 3 },
      ),
    ).toEqual({
      inputTokens: 15,
      outputTokens: 2,
      cachedInputTokens: 4,
      cacheCreationInputTokens: 3,
      reasoningTokens: 2,
    });
    expect(addUsage(zeroUsage, { inputTokens: 1, outputTokens: 1 })).toEqual({ inputTokens: 1, outputTokens: 1 });
    expect(Object.isFrozen(zeroUsage)).toBe(true);
  });

  it('validates usage counts and keeps both the model asked for and the version that answered', () => {
    expect(issuePath(UsageSchema.safeParse({ inputTokens: -1, outputTokens: 0 }))).toBe('inputTokens');
    expect(issuePath(UsageSchema.safeParse({ inputTokens: 1.5, outputTokens: 0 }))).toBe('inputTokens');
    const completion = CompletionSchema.parse({
      type: 'completion',
      id: 'x',
      requestedModel: 'gpt-4o',
      model: 'gpt-4o-2024-08-06',
      message: { role: 'assistant', content: 'hi' },
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0 },
    });
    expect([completion.requestedModel, completion.model]).toEqual(['gpt-4o', 'gpt-4o-2024-08-06']);
  });
});
