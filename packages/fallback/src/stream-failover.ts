import {
  RelError,
  type RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  type Usage,
  addUsage,
  completionChunks,
  toRelError,
} from '@rel/core';
import type { Dispatch, Opened } from './dispatch';
import { GuardedStream, closeChunks } from './guarded-stream';

/** Mid-stream failover switches. */
export interface StreamFailoverOptions {
  /** After chunks reached the caller, continue on a prefill-capable target. Default true. */
  continueWithPrefill: boolean;
}

/**
 * Wraps a routed stream so that a failure before its end never passes for a success:
 * - nothing reached the caller yet: the request restarts on the next target, transparently;
 * - chunks were emitted: the answer continues on the next target that supports assistant prefill
 *   (the partial text sent as the start of the answer), its text appended and usage summed;
 * - otherwise the iterator throws `stream_interrupted`; when a continuation was tried and failed
 *   (a rejected prefill), the original interruption is thrown with that failure as `cause`.
 * Each target's breaker counts the stream when it ends.
 */
export function failoverStream(
  first: Opened & { readonly response: StreamingCompletion },
  dispatch: Dispatch,
  ctx: RequestContext,
  options: StreamFailoverOptions,
): StreamingCompletion {
  return {
    type: 'stream',
    requestedModel: first.response.requestedModel,
    ...(first.response.provider ? { provider: first.response.provider } : {}),
    // Closed before it was read: close the target's stream and free its breaker admission.
    chunks: new GuardedStream(chunks(first, dispatch, ctx, options), async () => {
      await closeChunks(first.response.chunks);
      await first.target.breaker?.record(first.admission, 'ignored', first.openMs);
    }),
  };
}

async function* chunks(
  first: Opened,
  dispatch: Dispatch,
  ctx: RequestContext,
  options: StreamFailoverOptions,
): AsyncGenerator<StreamChunk> {
  let current: Opened = first;
  let emitted = 0;
  let text = '';
  let toolCalls = false;
  let usage: Usage | undefined;
  let original: RelError | undefined;
  for (;;) {
    let settled = false;
    try {
      if (current.response.type === 'completion') {
        settled = true;
        const done = current.response;
        yield* completionChunks(done, usage ? addUsage(usage, done.usage) : done.usage);
        return;
      }
      for await (const chunk of current.response.chunks) {
        if (chunk.type === 'finish') {
          settled = true;
          await current.target.breaker?.record(current.admission, 'success', current.openMs);
          if (chunk.usage) usage = usage ? addUsage(usage, chunk.usage) : chunk.usage;
          yield usage ? { ...chunk, usage } : chunk;
          return;
        }
        if (chunk.type === 'text-delta') text += chunk.text;
        else toolCalls = true;
        emitted++;
        yield chunk;
      }
      throw new RelError({ kind: 'stream_interrupted', emittedChunks: emitted });
    } catch (error) {
      if (settled) throw error;
      settled = true;
      if (emitted === 0) {
        // Nothing reached the caller: fall back as if the stream had never opened.
        await dispatch.fail(current.target, current.admission, error, current.calls, current.openMs);
        current = await dispatch.open();
        continue;
      }
      const err = toRelError(error, ctx.signal);
      const breaker = current.target.breaker;
      if (breaker) await breaker.record(current.admission, breaker.classify(err, ctx.signal), current.openMs);
      if (ctx.aborted || err.failure.kind === 'cancelled') throw err;
      original ??= err;
      const interruption = new RelError(
        { kind: 'stream_interrupted', emittedChunks: emitted },
        {
          message:
            original.failure.kind === 'stream_interrupted'
              ? `stream interrupted after ${emitted} chunks`
              : `stream interrupted after ${emitted} chunks: ${original.message}`,
          cause: original,
        },
      );
      if (!options.continueWithPrefill || toolCalls) throw interruption;
      const next = await dispatch.continueFrom(current.target, text);
      if (!('response' in next)) {
        if (next.error === undefined) throw interruption;
        throw new RelError(interruption.failure, {
          message: `${interruption.message}; the continuation failed: ${describe(next.error)}`,
          cause: next.error,
        });
      }
      current = next;
    } finally {
      if (!settled) await current.target.breaker?.record(current.admission, 'ignored', current.openMs);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
