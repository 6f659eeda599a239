import { describe, expect, it } from 'vitest';
import { collectStream } from './collect-stream';
import { completionAsStream, completionChunks } from './completion-stream';
import type { Completion } from './response';

const answer: Completion = {
  type: 'completion',
  id: 'c1',
  requestedModel: 'm',
  model: 'm-2025',
  provider: 'p',
  message: { role: 'assistant', content: 'hi', toolCalls: [{ id: 't1', name: 'get', arguments: '{"a":1}' }] },
  finishReason: 'tool_calls',
  usage: { inputTokens: 3, outputTokens: 4 },
};

describe('completionChunks / completionAsStream', () => {
  it('yield the text, each tool call, then the finish, and collect back to the same answer', async () => {
    expect([...completionChunks(answer)].map((c) => c.type)).toEqual(['text-delta', 'tool-call-delta', 'finish']);
    expect(await collectStream(completionAsStream(answer))).toEqual(answer);
  });

  it('carry a given usage on the finish and leave out an empty id', () => {
    const usage = { inputTokens: 9, outputTokens: 9 };
    const chunks = [...completionChunks({ ...answer, id: '' }, usage)];
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'tool_calls', model: 'm-2025', usage });
  });
});
