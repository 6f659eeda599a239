import { type Clock, type FinishReason, RelError, type StreamChunk, type Usage, systemClock } from '@rel/core';
import { cutBody, mapHttpFailure } from './http-failure';
import { fromOpenAiUsage, mapOpenAiFinish, readOpenAiChunk } from './openai-wire';
import type { SseEvent } from './sse-parser';

/** What to do with an event whose data is not the JSON expected: skip it, or fail with `provider_error`. */
export type MalformedEventPolicy = 'skip' | 'fail';

/** Options of `decodeOpenAiStream`. */
export interface OpenAiStreamOptions {
  /** Whether usage was requested (`stream_options.include_usage`); then `finish` waits for it. Default true. */
  readonly includeUsage?: boolean;
  readonly onMalformedEvent?: MalformedEventPolicy;
  readonly provider?: string;
  readonly clock?: Clock;
}

/**
 * Turns OpenAI `chat.completion.chunk` events into rel's stream chunks: text deltas, tool-call
 * deltas (by index, the id and name on the first delta of each call) and one `finish` carrying
 * the finish reason, usage, exact model version and id.
 *
 * `finish` is yielded once the finish reason arrived and, when usage was requested, the usage
 * chunk too (or `[DONE]`, for servers that ignore `include_usage`); the generator then returns
 * without waiting for the connection to close. A stream that ends before that, with or without
 * `[DONE]`, throws `stream_interrupted`; an `error` payload inside the stream throws its mapped
 * failure (or `stream_interrupted` when chunks were already yielded).
 * @throws RelError `stream_interrupted`, `provider_error` (malformed event with policy `fail`), or a mapped stream error
 */
export async function* decodeOpenAiStream(
  events: AsyncIterable<SseEvent>,
  options: OpenAiStreamOptions = {},
): AsyncGenerator<StreamChunk, void, undefined> {
  const includeUsage = options.includeUsage !== false;
  const provider = options.provider ?? 'openai';
  let emitted = 0;
  let finishReason: FinishReason | undefined;
  let rawFinish: string | undefined;
  let usage: Usage | undefined;
  let model: string | undefined;
  let id: string | undefined;
  let sawToolCalls = false;
  const finish = (): StreamChunk => ({
    type: 'finish',
    finishReason: finishReason ?? 'stop',
    ...(id ? { id } : {}),
    ...(model ? { model } : {}),
    ...(usage ? { usage } : {}),
  });

  for await (const ev of events) {
    const data = ev.data.trim();
    if (data === '[DONE]') {
      if (finishReason === undefined) break;
      yield finish();
      return;
    }
    if (data === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch (cause) {
      if (options.onMalformedEvent === 'fail') throw malformed(data, cause);
      continue;
    }
    const parsed = readOpenAiChunk(json);
    if (!parsed.success) {
      if (options.onMalformedEvent === 'fail') throw malformed(data, parsed.error);
      continue;
    }
    const chunk = parsed.data;
    if (chunk.error !== undefined && chunk.error !== null) {
      const err = mapHttpFailure(
        streamErrorStatus(chunk.error),
        new Headers(),
        data,
        provider,
        options.clock ?? systemClock,
      );
      if (emitted === 0) throw err;
      throw new RelError({ kind: 'stream_interrupted', emittedChunks: emitted }, { cause: err });
    }
    if (!model && chunk.model) model = chunk.model;
    if (!id && chunk.id) id = chunk.id;
    if (chunk.usage) usage = fromOpenAiUsage(chunk.usage);
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    const delta = choice?.delta;
    const text = delta?.content || delta?.refusal;
    if (text) {
      emitted++;
      yield { type: 'text-delta', text };
    }
    for (const call of delta?.tool_calls ?? []) {
      sawToolCalls = true;
      const name = call.function?.name;
      const args = call.function?.arguments;
      emitted++;
      yield {
        type: 'tool-call-delta',
        index: call.index ?? 0,
        ...(call.id ? { id: call.id } : {}),
        ...(name ? { name } : {}),
        ...(args ? { argumentsDelta: args } : {}),
      };
    }
    if (delta?.refusal) rawFinish = 'content_filter';
    if (choice?.finish_reason) rawFinish = rawFinish ?? choice.finish_reason;
    if (rawFinish !== undefined) finishReason = mapOpenAiFinish(rawFinish, sawToolCalls);
    // The usage chunk (empty choices) is the last one OpenAI sends; no need to wait for [DONE].
    const usageChunk = chunk.usage && (chunk.choices?.length ?? 0) === 0;
    if (finishReason !== undefined && (!includeUsage || usageChunk)) {
      yield finish();
      return;
    }
  }
  if (finishReason !== undefined && usage !== undefined) {
    // Finish and usage arrived but no [DONE] and no separate usage chunk: complete all the same.
    yield finish();
    return;
  }
  throw new RelError(
    { kind: 'stream_interrupted', emittedChunks: emitted },
    { cause: new Error(`${provider} stream ended without a finish reason${finishReason ? ' or usage' : ''}`) },
  );
}

function malformed(data: string, cause: unknown): RelError {
  return new RelError(
    { kind: 'provider_error', body: cutBody(data) },
    { message: 'malformed server-sent event', cause },
  );
}

function streamErrorStatus(error: unknown): number {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : 500;
}
