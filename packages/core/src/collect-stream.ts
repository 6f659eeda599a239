import { RelError } from './rel-error';
import type { ToolCall } from './request';
import type { Completion, FinishReason, StreamChunk, StreamingCompletion, Usage } from './response';

/**
 * Reads a stream to its end and assembles the answer: text joined, tool-call deltas merged by
 * index. A stream that ends without a `finish` chunk is a `stream_interrupted` failure, never a
 * truncated success.
 * @throws RelError `stream_interrupted`, or whatever the stream itself throws.
 */
export async function collectStream(response: StreamingCompletion): Promise<Completion> {
  let text = '';
  let count = 0;
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let finish: Extract<StreamChunk, { type: 'finish' }> | undefined;
  for await (const chunk of response.chunks) {
    count++;
    if (chunk.type === 'text-delta') text += chunk.text;
    else if (chunk.type === 'tool-call-delta') {
      const call = calls.get(chunk.index) ?? { id: '', name: '', arguments: '' };
      if (chunk.id) call.id = chunk.id;
      if (chunk.name) call.name += chunk.name;
      if (chunk.argumentsDelta) call.arguments += chunk.argumentsDelta;
      calls.set(chunk.index, call);
    } else finish = chunk;
  }
  if (!finish) throw new RelError({ kind: 'stream_interrupted', emittedChunks: count });
  const toolCalls: ToolCall[] = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  const usage: Usage = finish.usage ?? { inputTokens: 0, outputTokens: 0 };
  const finishReason: FinishReason = finish.finishReason;
  return {
    type: 'completion',
    id: finish.id ?? '',
    requestedModel: response.requestedModel,
    model: finish.model ?? response.requestedModel,
    ...(response.provider ? { provider: response.provider } : {}),
    message: {
      role: 'assistant',
      content: text.length > 0 || toolCalls.length === 0 ? text : null,
      ...(toolCalls.length ? { toolCalls } : {}),
    },
    finishReason,
    usage,
  };
}
