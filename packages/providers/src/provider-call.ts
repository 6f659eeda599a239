import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { Abortable, LlmResponse, RequestContext } from '@rel/core';
import { z } from 'zod';
import { type StreamDecoder, guardBody } from './guard-stream';
import {
  type BodyReader,
  DEFAULT_MAX_RESPONSE_BYTES,
  type FetchFunction,
  type HttpAnswer,
  parseJsonBody,
  postJson,
  RAW_TRANSPORT,
  readAnswer,
} from './http-transport';
import { linkSignal } from './linked-signal';
import { type EventDecoder, SseChunkStream } from './sse-chunk-stream';

/** True when node:http would send `value` under the header `name` (no invalid character). */
function sendable(name: string, value: string): boolean {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

/**
 * `headers` with every name in lower case (a later name wins over an earlier one that differs only
 * in case, as `Headers.set` would).
 */
function lowerCaseNames(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** The option fields every adapter shares; each adapter's schema spreads them. */
export const sharedOptionFields = {
  /**
   * Extra headers on every request (Azure's `api-key`, OpenRouter's `HTTP-Referer`, Anthropic's
   * `anthropic-beta`); they override the adapter's own. Names are matched without
   * regard to case (the parsed option holds them in lower case, ready for every call to merge);
   * a name or value HTTP cannot carry fails when the adapter is made.
   */
  headers: z
    .record(z.string(), z.string())
    .superRefine((headers, ctx) => {
      for (const [name, value] of Object.entries(headers))
        if (!sendable(name, value))
          ctx.addIssue({ code: 'custom', path: [name], message: 'not a valid HTTP header name and value' });
    })
    .transform(lowerCaseNames)
    .optional(),
  /** An SSE event whose data is not valid JSON: `skip` it (default) or `fail` the stream with `provider_error`. */
  onMalformedEvent: z.enum(['skip', 'fail']).default('skip'),
  /**
   * Largest single server-sent event accepted, in characters; a bigger one fails the stream with
   * `provider_error` instead of growing memory without bound. Default 4 MiB.
   */
  maxEventChars: z.number().int().positive().optional(),
  /**
   * Largest non-streamed answer read, in bytes; a bigger one fails with `provider_error` instead
   * of growing memory without bound. Default 32 MiB.
   */
  maxResponseBytes: z.number().int().positive().optional(),
};

/** One HTTP call of an adapter, as the adapter prepared it. */
export interface ProviderCall {
  readonly url: string;
  readonly provider: string;
  readonly fetch: FetchFunction;
  /**
   * The adapter's own headers (accept, auth, version), names in lower case, made for this call:
   * the extra headers and the idempotency key are added to it here.
   */
  readonly headers: Record<string, string>;
  /** The option's extra headers, names in lower case (as `sharedOptionFields.headers` parses them). */
  readonly extraHeaders: Readonly<Record<string, string>> | undefined;
  readonly body: unknown;
  readonly stream: boolean;
  readonly maxResponseBytes: number | undefined;
  readonly maxEventChars: number | undefined;
  /** Turns a JSON answer (parsed, and its raw text) into the response. */
  readonly fromJson: (json: unknown, text: string, res: HttpAnswer) => LlmResponse;
  /** Decodes an SSE answer into stream chunks. */
  readonly decode: StreamDecoder;
  /**
   * The same decoding one event at a time, when the adapter has it: the answer is then read by
   * one `SseChunkStream` instead of `guardBody` over async generators.
   */
  readonly events?: () => EventDecoder;
  /** Whether the answer to a streaming request is read as JSON all the same (it always is without a body). */
  readonly answersJson?: (res: HttpAnswer) => boolean;
  readonly requestedModel: string;
}

const noop = () => {};

/** `linkSignal`'s shape for a transport that listens to the context itself: nothing to release. */
function direct(ctx: RequestContext): { readonly signal: Abortable; release(): void } {
  return { signal: ctx, release: noop };
}

/**
 * Sends one adapter call and reads its answer: the idempotency key on every attempt, the context's
 * abort followed for this call only (a `fetch` gets a linked signal, released when the call or its
 * stream ends; a raw transport listens to the context until its request closes; so listeners
 * never pile up on a long-lived signal), a bounded JSON read, or the SSE body handed to
 * `SseChunkStream` (or `guardBody` for an adapter without an event decoder).
 * @throws RelError for any HTTP or network failure (see `postJson`).
 */
export async function callProvider(call: ProviderCall, ctx: RequestContext): Promise<LlmResponse> {
  const { headers, extraHeaders } = call;
  if (extraHeaders) for (const name in extraHeaders) headers[name] = extraHeaders[name] as string;
  headers['idempotency-key'] = ctx.idempotencyKey;
  // A raw transport follows the context itself and stops when its request closes; a `fetch` gets
  // a signal of its own, unlinked when the call or its stream ends.
  const link = RAW_TRANSPORT in call.fetch ? direct(ctx) : linkSignal(ctx);
  let handedOff = false;
  try {
    const res = await postJson({
      url: call.url,
      headers,
      body: call.body,
      signal: link.signal,
      fetch: call.fetch,
      provider: call.provider,
      clock: ctx.clock,
    });
    if (!call.stream || !res.hasBody || call.answersJson?.(res)) {
      const text = await readAnswer(res, link.signal, call.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
      return call.fromJson(parseJsonBody(text, res.status), text, res);
    }
    handedOff = true;
    const sseOptions = call.maxEventChars === undefined ? {} : { maxEventChars: call.maxEventChars };
    return {
      type: 'stream',
      requestedModel: call.requestedModel,
      provider: call.provider,
      chunks: call.events
        ? new SseChunkStream(() => res.reader() as BodyReader, ctx, call.events(), link.release, sseOptions)
        : guardBody(() => res.reader() as BodyReader, ctx, call.decode, link.release, sseOptions),
    };
  } finally {
    if (!handedOff) link.release();
  }
}
