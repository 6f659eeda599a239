import type { RequestContext } from './context';
import type { LlmRequest } from './request';
import type { LlmResponse, StreamChunk, StreamingCompletion } from './response';

/**
 * Answers one request. For `stream: true` it resolves with a `StreamingCompletion` as soon as the
 * stream is open; the chunks then flow through `response.chunks`.
 */
export type Handler = (req: LlmRequest, ctx: RequestContext) => Promise<LlmResponse>;

/** Wraps a handler. It may change the request, the context, the response, or its stream. */
export type Middleware = (next: Handler) => Handler;

/**
 * Composes middlewares; the first listed is outermost: `compose(a, b, c)(h) === a(b(c(h)))`.
 *
 * Streaming passes through the same contract: a middleware that wants to see a stream wraps the
 * response's `chunks` (see `mapStream`), so every layer can observe, transform or cut it.
 *
 * @example
 * const logging: Middleware = (next) => async (req, ctx) => {
 *   const res = await next(req, ctx);
 *   if (res.type === 'completion') return res;
 *   return mapStream(res, async function* (chunks) {
 *     for await (const c of chunks) { if (c.type === 'finish') console.log(c.usage); yield c; }
 *   });
 * };
 * const handler = compose(logging, retry)(provider);
 */
export function compose(...middlewares: readonly Middleware[]): (handler: Handler) => Handler {
  return (handler) => middlewares.reduceRight<Handler>((next, mw) => mw(next), handler);
}

/**
 * A streaming response whose chunks pass through `transform`; everything else is kept.
 * @example
 * const upper = mapStream(res, async function* (chunks) {
 *   for await (const c of chunks) yield c.type === 'text-delta' ? { ...c, text: c.text.toUpperCase() } : c;
 * });
 */
export function mapStream(
  response: StreamingCompletion,
  transform: (chunks: AsyncIterable<StreamChunk>) => AsyncIterable<StreamChunk>,
): StreamingCompletion {
  return { ...response, chunks: transform(response.chunks) };
}
