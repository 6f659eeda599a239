import type { Completion, LlmRequest, LlmResponse, RequestContext } from '@rel/core';
import { z } from 'zod';
import { decodeAnthropicStream } from './anthropic-stream';
import { fromAnthropicMessage, toAnthropicBody } from './anthropic-wire';
import { type FetchFunction, runtimeFetch } from './http-transport';
import { parseOptions } from './options';
import { callProvider, sharedOptionFields } from './provider-call';
import { type ProviderHandler, trimBaseURL, withProviderInfo } from './provider-handler';

/** Options of `anthropic`, validated once when the adapter is made. */
export const AnthropicOptionsSchema = z.strictObject({
  /** Sent as `x-api-key`; may be empty behind a gateway that adds it. */
  apiKey: z.string(),
  /** Base URL up to the version segment; requests go to `${baseURL}/messages`. Default `https://api.anthropic.com/v1`. */
  baseURL: z.url({ protocol: /^https?$/ }).default('https://api.anthropic.com/v1'),
  /** The `anthropic-version` header. Default `2023-06-01`. */
  version: z.string().min(1).default('2023-06-01'),
  /** Provider name for telemetry and completions. Default `anthropic`. */
  name: z.string().min(1).max(64).optional(),
  /** `max_tokens` when the request sets none (the Messages API requires it). Default 4096. */
  defaultMaxTokens: z.number().int().positive().default(4096),
  ...sharedOptionFields,
});

/** What `anthropic` accepts: the schema's fields plus a `fetch` to call (default: the runtime's). */
export type AnthropicOptions = z.input<typeof AnthropicOptionsSchema> & { fetch?: FetchFunction };

/**
 * An adapter for Anthropic's Messages API on plain `fetch`, with no SDK and no retry of its own:
 * non-streaming and streaming, system prompt, tools, JSON answers through a forced tool, usage
 * with cache read and cache creation tokens, and failures mapped into rel's taxonomy
 * (`overloaded_error` 529 is a retryable `provider_unavailable`).
 *
 * @throws RelError `invalid_request` naming the field when an option is invalid
 * @example
 * const claude = anthropic({ apiKey: process.env.ANTHROPIC_API_KEY ?? '' });
 * const res = await claude({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }] }, new RequestContext());
 */
export function anthropic(options: AnthropicOptions): ProviderHandler {
  const { fetch: fetchFn, ...rest } = options;
  const opts = parseOptions(AnthropicOptionsSchema, rest, 'anthropic');
  const provider = opts.name ?? 'anthropic';
  const baseURL = trimBaseURL(opts.baseURL);
  const url = `${baseURL}/messages`;
  const doFetch: FetchFunction = fetchFn ?? runtimeFetch;

  const handler = async (req: LlmRequest, ctx: RequestContext): Promise<LlmResponse> => {
    const stream = req.stream === true;
    const headers: Record<string, string> = {
      accept: stream ? 'text/event-stream' : 'application/json',
      'anthropic-version': opts.version,
    };
    if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
    const { body, jsonTool } = toAnthropicBody(req, { stream, defaultMaxTokens: opts.defaultMaxTokens });
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
        fromJson: (json, text) => {
          const completion: Completion = fromAnthropicMessage(json, req.model, provider, text, jsonTool);
          ctx.recordUsage(completion.usage);
          return completion;
        },
        decode: (events) =>
          decodeAnthropicStream(events, {
            onMalformedEvent: opts.onMalformedEvent,
            provider,
            clock: ctx.clock,
            ...(jsonTool === undefined ? {} : { jsonTool }),
          }),
      },
      ctx,
    );
  };
  return withProviderInfo(handler, provider, baseURL);
}
