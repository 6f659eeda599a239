import { type Completion, type RequestContext, type StreamChunk, completionChunks } from '@rel/core';

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
  for (const chunk of completionChunks(completion)) {
    if (chunk.type === 'finish') ctx.recordUsage(completion.usage);
    yield chunk;
  }
}
