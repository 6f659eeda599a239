import { type Clock, RelError, type StreamChunk, systemClock } from '@rel/core';
import { cutBody, mapHttpFailure } from './http-failure';
import { type AnthropicUsage, fromAnthropicUsage, mapAnthropicStop } from './anthropic-wire';
import type { MalformedEventPolicy } from './openai-stream';
import type { SseEvent } from './sse-parser';

/** Options of `decodeAnthropicStream`. */
export interface AnthropicStreamOptions {
  readonly onMalformedEvent?: MalformedEventPolicy;
  readonly provider?: string;
  readonly clock?: Clock;
  /** The JSON tool of `toAnthropicBody`, whose input deltas are the answer's text. */
  readonly jsonTool?: string;
}

/** HTTP status each Anthropic error type is sent with, so a streamed `error` maps like a response. */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

type Block = { kind: 'tool'; index: number; args: boolean } | { kind: 'json'; args: boolean } | { kind: 'other' };
type Json = Record<string, unknown>;

/**
 * Turns Messages API stream events (`message_start`, `content_block_start|delta|stop`,
 * `message_delta`, `message_stop`, `ping`, `error`) into rel's stream chunks. Tool-use blocks
 * become tool-call deltas numbered from 0 in order; thinking blocks are dropped; usage combines
 * `message_start` (input and cache tokens) with `message_delta` (cumulative output tokens).
 * `finish` is yielded at `message_stop` (or at the end when `message_delta` already brought the
 * stop reason); a stream that ends before is `stream_interrupted`. An `error` event throws its
 * mapped failure (`overloaded_error` is `provider_unavailable` 529), or `stream_interrupted`
 * once chunks were yielded.
 * @throws RelError
 */
export async function* decodeAnthropicStream(
  events: AsyncIterable<SseEvent>,
  options: AnthropicStreamOptions = {},
): AsyncGenerator<StreamChunk, void, undefined> {
  const provider = options.provider ?? 'anthropic';
  const blocks = new Map<number, Block>();
  let emitted = 0;
  let toolCount = 0;
  let id: string | undefined;
  let model: string | undefined;
  let usage: AnthropicUsage = {};
  let stopReason: string | undefined;
  const finish = (): StreamChunk => ({
    type: 'finish',
    finishReason: mapAnthropicStop(stopReason, toolCount > 0),
    ...(id ? { id } : {}),
    ...(model ? { model } : {}),
    usage: fromAnthropicUsage(usage),
  });

  for await (const ev of events) {
    let data: Json;
    try {
      const parsed: unknown = JSON.parse(ev.data);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      data = parsed as Json;
    } catch (cause) {
      if (options.onMalformedEvent === 'fail') {
        throw new RelError({ kind: 'provider_error', body: cutBody(ev.data) }, { message: 'malformed event', cause });
      }
      continue;
    }
    const type = typeof data.type === 'string' ? data.type : ev.event;
    switch (type) {
      case 'message_start': {
        const message = obj(data.message);
        id = str(message.id) ?? id;
        model = str(message.model) ?? model;
        usage = mergeUsage(usage, obj(message.usage));
        break;
      }
      case 'content_block_start': {
        const index = int(data.index);
        const block = obj(data.content_block);
        if (index === undefined) break;
        if (block.type === 'tool_use' && options.jsonTool !== undefined && block.name === options.jsonTool) {
          blocks.set(index, { kind: 'json', args: false });
        } else if (block.type === 'tool_use') {
          const toolIndex = toolCount++;
          blocks.set(index, { kind: 'tool', index: toolIndex, args: false });
          const toolId = str(block.id);
          const name = str(block.name);
          emitted++;
          yield {
            type: 'tool-call-delta',
            index: toolIndex,
            ...(toolId ? { id: toolId } : {}),
            ...(name ? { name } : {}),
          };
        } else {
          blocks.set(index, { kind: 'other' });
          const text = block.type === 'text' ? str(block.text) : undefined;
          if (text) {
            emitted++;
            yield { type: 'text-delta', text };
          }
        }
        break;
      }
      case 'content_block_delta': {
        const delta = obj(data.delta);
        const block = blocks.get(int(data.index) ?? -1);
        const text = delta.type === 'text_delta' ? str(delta.text) : undefined;
        const json = delta.type === 'input_json_delta' ? str(delta.partial_json) : undefined;
        if (text && (!block || block.kind === 'other')) {
          emitted++;
          yield { type: 'text-delta', text };
        } else if (json && block?.kind === 'tool') {
          block.args = true;
          emitted++;
          yield { type: 'tool-call-delta', index: block.index, argumentsDelta: json };
        } else if (json && block?.kind === 'json') {
          block.args = true;
          emitted++;
          yield { type: 'text-delta', text: json };
        }
        break;
      }
      case 'content_block_stop': {
        // A tool called with no input streams no delta; its arguments are the empty object.
        const block = blocks.get(int(data.index) ?? -1);
        if (block?.kind === 'tool' && !block.args) {
          emitted++;
          yield { type: 'tool-call-delta', index: block.index, argumentsDelta: '{}' };
        } else if (block?.kind === 'json' && !block.args) {
          emitted++;
          yield { type: 'text-delta', text: '{}' };
        }
        break;
      }
      case 'message_delta': {
        stopReason = str(obj(data.delta).stop_reason) ?? stopReason;
        usage = mergeUsage(usage, obj(data.usage));
        break;
      }
      case 'message_stop': {
        if (stopReason === undefined) break;
        yield finish();
        return;
      }
      case 'error': {
        const error = obj(data.error);
        const status = ERROR_STATUS[str(error.type) ?? ''] ?? 500;
        const err = mapHttpFailure(status, new Headers(), ev.data, provider, options.clock ?? systemClock);
        if (emitted === 0) throw err;
        throw new RelError({ kind: 'stream_interrupted', emittedChunks: emitted }, { cause: err });
      }
      default:
        break; // ping, and event types added after this was written
    }
  }
  if (stopReason !== undefined) {
    // message_delta brought the stop reason and the final usage; only message_stop is missing.
    yield finish();
    return;
  }
  throw new RelError(
    { kind: 'stream_interrupted', emittedChunks: emitted },
    { cause: new Error(`${provider} stream ended before message_delta`) },
  );
}

/** Later usage fields override earlier ones (Anthropic's `message_delta` counts are cumulative). */
function mergeUsage(a: AnthropicUsage, b: Json): AnthropicUsage {
  const out: Record<string, number> = { ...(a as Record<string, number>) };
  for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens']) {
    const v = b[k];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[k] = v;
  }
  return out;
}

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}
