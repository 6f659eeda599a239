import { type Clock, type FinishReason, RelError, type StreamChunk, type Usage, systemClock } from '@rel/core';
import { cutBody, mapHttpFailure } from './http-failure';
import { fromOpenAiUsage, mapOpenAiFinish, readOpenAiChunk } from './openai-wire';
import type { EventDecoder } from './sse-chunk-stream';
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
  const decoder = new OpenAiEventDecoder(options);
  const out: StreamChunk[] = [];
  for await (const ev of events) {
    const complete = decoder.event(ev, out);
    for (const chunk of out) yield chunk;
    out.length = 0;
    if (complete) return;
  }
  decoder.end(out);
  yield* out;
}

/**
 * `decodeOpenAiStream` one event at a time, without an async layer: what `callProvider` reads an
 * OpenAI stream with.
 * @internal
 */
export class OpenAiEventDecoder implements EventDecoder {
  readonly #includeUsage: boolean;
  readonly #provider: string;
  readonly #options: OpenAiStreamOptions;
  #emitted = 0;
  #finishReason: FinishReason | undefined;
  #rawFinish: string | undefined;
  #usage: Usage | undefined;
  #model: string | undefined;
  #id: string | undefined;
  #sawToolCalls = false;

  constructor(options: OpenAiStreamOptions = {}) {
    this.#options = options;
    this.#includeUsage = options.includeUsage !== false;
    this.#provider = options.provider ?? 'openai';
  }

  #finish(): StreamChunk {
    return {
      type: 'finish',
      finishReason: this.#finishReason ?? 'stop',
      ...(this.#id ? { id: this.#id } : {}),
      ...(this.#model ? { model: this.#model } : {}),
      ...(this.#usage ? { usage: this.#usage } : {}),
    };
  }

  event(ev: SseEvent, out: StreamChunk[]): boolean {
    const data = ev.data.trim();
    if (data === '[DONE]') {
      if (this.#finishReason === undefined) return this.#interrupted();
      out.push(this.#finish());
      return true;
    }
    if (data === '') return false;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch (cause) {
      if (this.#options.onMalformedEvent === 'fail') throw malformed(data, cause);
      return false;
    }
    const parsed = readOpenAiChunk(json);
    if (!parsed.success) {
      if (this.#options.onMalformedEvent === 'fail') throw malformed(data, parsed.error);
      return false;
    }
    const chunk = parsed.data;
    if (chunk.error !== undefined && chunk.error !== null) {
      const err = mapHttpFailure(
        streamErrorStatus(chunk.error),
        new Headers(),
        data,
        this.#provider,
        this.#options.clock ?? systemClock,
      );
      if (this.#emitted === 0) throw err;
      throw new RelError({ kind: 'stream_interrupted', emittedChunks: this.#emitted }, { cause: err });
    }
    if (!this.#model && chunk.model) this.#model = chunk.model;
    if (!this.#id && chunk.id) this.#id = chunk.id;
    if (chunk.usage) this.#usage = fromOpenAiUsage(chunk.usage);
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    const delta = choice?.delta;
    const text = delta?.content || delta?.refusal;
    if (text) {
      this.#emitted++;
      out.push({ type: 'text-delta', text });
    }
    for (const call of delta?.tool_calls ?? []) {
      this.#sawToolCalls = true;
      const name = call.function?.name;
      const args = call.function?.arguments;
      this.#emitted++;
      out.push({
        type: 'tool-call-delta',
        index: call.index ?? 0,
        ...(call.id ? { id: call.id } : {}),
        ...(name ? { name } : {}),
        ...(args ? { argumentsDelta: args } : {}),
      });
    }
    if (delta?.refusal) this.#rawFinish = 'content_filter';
    if (choice?.finish_reason) this.#rawFinish = this.#rawFinish ?? choice.finish_reason;
    if (this.#rawFinish !== undefined) this.#finishReason = mapOpenAiFinish(this.#rawFinish, this.#sawToolCalls);
    // The usage chunk (empty choices) is the last one OpenAI sends; no need to wait for [DONE].
    const usageChunk = chunk.usage && (chunk.choices?.length ?? 0) === 0;
    if (this.#finishReason !== undefined && (!this.#includeUsage || usageChunk)) {
      out.push(this.#finish());
      return true;
    }
    return false;
  }

  end(out: StreamChunk[]): void {
    if (this.#finishReason !== undefined && this.#usage !== undefined) {
      // Finish and usage arrived but no [DONE] and no separate usage chunk: complete all the same.
      out.push(this.#finish());
      return;
    }
    this.#interrupted();
  }

  #interrupted(): never {
    throw new RelError(
      { kind: 'stream_interrupted', emittedChunks: this.#emitted },
      {
        cause: new Error(
          `${this.#provider} stream ended without a finish reason${this.#finishReason ? ' or usage' : ''}`,
        ),
      },
    );
  }
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
