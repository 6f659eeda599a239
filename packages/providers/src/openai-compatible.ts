import type { Completion, LlmRequest, LlmResponse, RequestContext } from '@rel/core';
import { z } from 'zod';
import { mapHttpFailure } from './http-failure';
import { type FetchFunction, runtimeFetch } from './http-transport';
import { OpenAiEventDecoder, decodeOpenAiStream } from './openai-stream';
import { fromOpenAiCompletion, toOpenAiBody } from './openai-wire';
import { parseOptions } from './options';
import { callProvider, sharedOptionFields } from './provider-call';
import { type ProviderHandler, trimBaseURL, withProviderInfo } from './provider-handler';
import { replayCompletion } from './replay-completion';

/** Options of `openaiCompatible`, validated once when the adapter is made. */
export const OpenAiCompatibleOptionsSchema = z.strictObject({
  /** Base URL up to the version segment, e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1`. */
  baseURL: z.url({ protocol: /^https?$/ }),
  /** Sent as `Authorization: Bearer <apiKey>`; may be empty for local servers. */
  apiKey: z.string(),
  /** Provider name for telemetry and completions. Default `openai`. */
  name: z.string().min(1).max(64).optional(),
  /** Ask for usage in streams (`stream_options.include_usage`). Default true. */
  includeUsage: z.boolean().default(true),
  /** Field that carries `maxTokens`. Default `max_tokens`; OpenAI's reasoning models need `max_completion_tokens`. */
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
  ...sharedOptionFields,
});

/** What `openaiCompatible` accepts: the schema's fields plus a `fetch` to call (default: the runtime's). */
export type OpenAiCompatibleOptions = z.input<typeof OpenAiCompatibleOptionsSchema> & { fetch?: FetchFunction };

/**
 * An adapter for any server speaking OpenAI's chat completions API (OpenAI, Azure OpenAI's `/openai/v1`
 * path, vLLM, Ollama, OpenRouter, rel's fake provider), on plain `fetch` with no SDK and no retry of
 * its own. Streaming and non-streaming, tools, JSON-schema output, usage with cached and reasoning
 * tokens, the exact model version; failures mapped into rel's taxonomy.
 *
 * @throws RelError `invalid_request` naming the field when an option is invalid
 * @example
 * const openai = openaiCompatible({ baseURL: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY ?? '' });
 * const res = await openai({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }, new RequestContext());
 */
export function openaiCompatible(options: OpenAiCompatibleOptions): ProviderHandler {
  const { fetch: fetchFn, ...rest } = options;
  const opts = parseOptions(OpenAiCompatibleOptionsSchema, rest, 'openaiCompatible');
  const provider = opts.name ?? 'openai';
  const baseURL = trimBaseURL(opts.baseURL);
  const url = `${baseURL}/chat/completions`;
  const doFetch: FetchFunction = fetchFn ?? runtimeFetch;
  const authorization = opts.apiKey ? `Bearer ${opts.apiKey}` : undefined;

  const handler = async (req: LlmRequest, ctx: RequestContext): Promise<LlmResponse> => {
    const stream = req.stream === true;
    const headers: Record<string, string> = { accept: stream ? 'text/event-stream' : 'application/json' };
    if (authorization) headers.authorization = authorization;
    const body = toOpenAiBody(req, { stream, includeUsage: opts.includeUsage, maxTokensField: opts.maxTokensField });
    return callProvider(
      {
        url,
        provider,
        fetch: doFetch,
        headers,
        extraHeaders: opts.headers,
        body,
        stream,
        maxResponseBytes: opts.maxResponseBytes,
        maxEventChars: opts.maxEventChars,
        requestedModel: req.model,
        // A server that ignores `stream` answers JSON; it is replayed as a stream below.
        answersJson: (res) => (res.headers.get('content-type') ?? '').includes('json'),
        fromJson: (json, text, res) => {
          // Some gateways (OpenRouter among them) report an upstream failure as a 200 with an error body.
          if (isErrorBody(json))
            throw mapHttpFailure(statusOfError(json.error), res.headers, text, provider, ctx.clock);
          const completion: Completion = fromOpenAiCompletion(json, req.model, provider, text);
          if (!stream) {
            ctx.recordUsage(completion.usage);
            return completion;
          }
          return { type: 'stream', requestedModel: req.model, provider, chunks: replayCompletion(completion, ctx) };
        },
        decode: (events) =>
          decodeOpenAiStream(events, {
            includeUsage: opts.includeUsage,
            onMalformedEvent: opts.onMalformedEvent,
            provider,
            clock: ctx.clock,
          }),
        events: () =>
          new OpenAiEventDecoder({
            includeUsage: opts.includeUsage,
            onMalformedEvent: opts.onMalformedEvent,
            provider,
            clock: ctx.clock,
          }),
      },
      ctx,
    );
  };
  return withProviderInfo(handler, provider, baseURL);
}

function isErrorBody(json: unknown): json is { error: unknown } {
  if (typeof json !== 'object' || json === null) return false;
  const { error, choices } = json as { error?: unknown; choices?: unknown };
  return error !== undefined && error !== null && choices === undefined;
}

/** The status an in-body error stands for: its numeric `code` when it is an HTTP status, else 502. */
function statusOfError(error: unknown): number {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : 502;
}
