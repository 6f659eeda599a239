import type { Completion, StreamChunk, StreamingCompletion, Usage } from './response';

/**
 * The chunks a stream would have carried for a complete answer: its text, each tool call, then
 * the finish with `usage` (the answer's own by default). The inverse of `collectStream`.
 * @example for (const c of completionChunks(answer)) console.log(c.type); // text-delta, finish
 */
export function* completionChunks(completion: Completion, usage: Usage = completion.usage): Generator<StreamChunk> {
  const { message } = completion;
  if (message.content) yield { type: 'text-delta', text: message.content };
  const calls = message.toolCalls ?? [];
  for (let index = 0; index < calls.length; index++) {
    const call = calls[index] as (typeof calls)[number];
    yield { type: 'tool-call-delta', index, id: call.id, name: call.name, argumentsDelta: call.arguments };
  }
  yield {
    type: 'finish',
    finishReason: completion.finishReason,
    ...(completion.id ? { id: completion.id } : {}),
    model: completion.model,
    usage,
  };
}

/**
 * A complete answer as a streaming response, for a caller that asked for a stream (a degraded
 * answer, a safe default, a validated structured output).
 * @example return req.stream ? completionAsStream(answer) : answer;
 */
export function completionAsStream(completion: Completion): StreamingCompletion {
  return {
    type: 'stream',
    requestedModel: completion.requestedModel,
    ...(completion.provider ? { provider: completion.provider } : {}),
    chunks: (async function* () {
      yield* completionChunks(completion);
    })(),
  };
}
