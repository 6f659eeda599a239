import type { Completion, RequestContext, StreamChunk } from '@rel/core';

/**
 * Replays a complete answer as stream chunks, for a server that answered a streaming request
 * with a plain JSON completion (some proxies ignore `stream: true`). Usage is recorded when
 * `finish` is produced, as for a real stream.
 * @example for await (const c of replayCompletion(completion, ctx)) console.log(c.type);
 */
export async function* replayCompletion(
  completion: Completion,
  ctx: RequestContext,
): AsyncGenerator<StreamChunk, void, undefined> {
  const { message } = completion;
  if (message.content) yield { type: 'text-delta', text: message.content };
  for (const [index, call] of (message.toolCalls ?? []).entries()) {
    yield { type: 'tool-call-delta', index, id: call.id, name: call.name, argumentsDelta: call.arguments };
  }
  ctx.recordUsage(completion.usage);
  yield {
    type: 'finish',
    finishReason: completion.finishReason,
    ...(completion.id ? { id: completion.id } : {}),
    model: completion.model,
    usage: completion.usage,
  };
}
