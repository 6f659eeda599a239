import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWireRequest } from './openai-wire';

describe('parseWireRequest', () => {
  it('converts the OpenAI wire request into an LlmRequest', () => {
    const parsed = parseWireRequest({
      model: 'gpt-4o',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather ' },
            { type: 'text', text: 'in Oslo?' },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":3}' },
      ],
      tools: [{ type: 'function', function: { name: 'weather', description: 'd', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } },
      max_completion_tokens: 50,
      temperature: 0.2,
      stream: true,
      stream_options: { include_usage: true },
      user: 'ignored-but-allowed',
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        includeUsage: true,
        request: {
          model: 'gpt-4o',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Weather in Oslo?' },
            {
              role: 'assistant',
              content: null,
              toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' }],
            },
            { role: 'tool', toolCallId: 'call_1', content: '{"temp":3}' },
          ],
          tools: [{ name: 'weather', description: 'd', parameters: { type: 'object' } }],
          toolChoice: { name: 'weather' },
          responseFormat: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true },
          maxTokens: 50,
          temperature: 0.2,
          stream: true,
        },
      },
    });
  });

  it.each([
    [{ messages: [{ role: 'user', content: 'x' }] }, 'model', 'you must provide a model parameter'],
    [{ model: 'm' }, 'messages', "Missing required parameter: 'messages'."],
    [{ model: 'm', messages: [] }, 'messages', "Invalid value for 'messages'"],
    [{ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id', 'tool_call_id'],
    [{ model: 7, messages: [] }, 'model', "Invalid value for 'model'"],
  ])('rejects %j naming %s', (body, param, message) => {
    const parsed = parseWireRequest(body);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.param).toBe(param);
    expect(parsed.error.message).toContain(message);
  });

  it('never throws, whatever JSON it is given (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parseWireRequest(value);
        expect(typeof parsed.ok).toBe('boolean');
      }),
    );
  });
});
