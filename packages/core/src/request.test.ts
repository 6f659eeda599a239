import { describe, expect, it } from 'vitest';
import { ChatMessageSchema, LlmRequestSchema } from './request';

const full = {
  model: 'gpt-4o',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Weather in Paris?', untrusted: false },
    { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' }] },
    { role: 'tool', toolCallId: 'c1', content: '{"c":21}' },
  ],
  tools: [{ name: 'weather', parameters: { type: 'object' }, strict: true }],
  toolChoice: { name: 'weather' },
  responseFormat: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true },
  maxTokens: 100,
  temperature: 0.2,
  stream: true,
  metadata: { feature: 'chat' },
};

const issuePath = (r: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }) =>
  r.error?.issues[0]?.path.join('.');

describe('LlmRequestSchema', () => {
  it('accepts every message role, tools, tool calls, a JSON-schema response format and the options', () => {
    expect(LlmRequestSchema.parse(full)).toEqual(full);
  });

  it('names the bad field of a request', () => {
    expect(issuePath(LlmRequestSchema.safeParse({ ...full, temperature: 3 }))).toBe('temperature');
    expect(issuePath(LlmRequestSchema.safeParse({ ...full, maxTokens: 0 }))).toBe('maxTokens');
    expect(issuePath(LlmRequestSchema.safeParse({ ...full, messages: [] }))).toBe('messages');
    expect(issuePath(LlmRequestSchema.safeParse({ ...full, messages: [{ role: 'tool', content: 'x' }] }))).toBe(
      'messages.0.toolCallId',
    );
    expect(issuePath(LlmRequestSchema.safeParse({ ...full, responseFormat: { type: 'json_schema', name: 'x' } }))).toBe(
      'responseFormat.schema',
    );
  });

  it('refuses unknown keys (a misspelt option is an error, not silently ignored)', () => {
    const r = LlmRequestSchema.safeParse({ ...full, max_tokens: 5 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it('refuses a role it does not know', () => {
    expect(ChatMessageSchema.safeParse({ role: 'developer', content: 'x' }).success).toBe(false);
  });
});
