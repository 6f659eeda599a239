import {
  type LlmRequest,
  type Middleware,
  type RequestContext,
  RelError,
  type StreamChunk,
  mapStream,
} from '@rel/core';
import { z } from 'zod';
import { recordGuardrail } from '../output/record-verdict';

const positiveInt = z.number().int().positive();

/** Options of `caps` that are data. */
export const CapsOptionsSchema = z.strictObject({
  maxTokens: z
    .strictObject({
      /** Cap when neither the tier nor the route has one. */
      default: positiveInt.optional(),
      /** Cap per principal tier (`ctx.principal.tier`). */
      byTier: z.record(z.string(), positiveInt).optional(),
      /** Cap per route (by default the request's `model`). */
      byRoute: z.record(z.string(), positiveInt).optional(),
    })
    .optional(),
  /** Maximum assistant tool-call turns in the conversation (the depth of an agent loop). */
  maxToolDepth: positiveInt.optional(),
  /** Maximum tool calls per request: those in the conversation plus those in the answer. */
  maxToolCalls: positiveInt.optional(),
  /** The name recorded in verdicts and events. */
  name: z.string().min(1).default('caps'),
});
/** Options of `caps`, as written by callers. */
export type CapsOptions = z.input<typeof CapsOptionsSchema> & {
  /** The route key of a request for `maxTokens.byRoute` (default: `req.model`). */
  routeOf?: (req: LlmRequest, ctx: RequestContext) => string;
};

/** Tool-call turns and tool calls in a conversation. */
export function toolUsage(req: LlmRequest): { depth: number; calls: number } {
  let depth = 0;
  let calls = 0;
  for (const m of req.messages) {
    if (m.role === 'assistant' && m.toolCalls?.length) {
      depth++;
      calls += m.toolCalls.length;
    }
  }
  return { depth, calls };
}

/**
 * Hard per-request caps. `max_tokens` is clamped to the smaller of the tier's and the route's cap
 * (or the default when neither has one), and set when the request has none. The conversation's
 * tool-call depth and the number of tool calls (history plus the answer, counted as a stream
 * arrives) are enforced, so a runaway agent loop stops with a typed failure.
 * @throws ZodError naming a bad option; RelError `limit_exceeded` `{ limit: 'tool_depth' | 'tool_calls', value, max }`.
 * @example
 * const handler = compose(caps({ maxTokens: { default: 1024, byTier: { free: 256 } }, maxToolDepth: 8, maxToolCalls: 20 }))(provider);
 */
export function caps(options: CapsOptions = {}): Middleware {
  const { routeOf = (req: LlmRequest) => req.model, ...data } = options;
  const o = CapsOptionsSchema.parse(data);

  const capFor = (req: LlmRequest, ctx: RequestContext): number | undefined => {
    const tier = ctx.principal.tier;
    const tierCap = tier === undefined ? undefined : o.maxTokens?.byTier?.[tier];
    const routeCap = o.maxTokens?.byRoute?.[routeOf(req, ctx)];
    if (tierCap === undefined && routeCap === undefined) return o.maxTokens?.default;
    return Math.min(tierCap ?? Number.POSITIVE_INFINITY, routeCap ?? Number.POSITIVE_INFINITY);
  };

  // No closures per request: the checks below are plain functions of their arguments.
  const verdict = (
    ctx: RequestContext,
    stage: 'input' | 'output',
    action: 'pass' | 'sanitize' | 'block',
    categories: string[],
    latencyMs: number,
  ) => recordGuardrail(ctx, { name: o.name, stage, action, categories, latencyMs });
  /** Blocks an answer whose tool calls, with the conversation's, pass `maxToolCalls`. */
  const checkCalls = (ctx: RequestContext, calls: number, answered: number): void => {
    const maxCalls = o.maxToolCalls as number;
    const started = performance.now();
    const total = calls + answered;
    if (total <= maxCalls) return;
    verdict(ctx, 'output', 'block', ['tool_calls'], performance.now() - started);
    throw exceeded('tool_calls', total, maxCalls);
  };

  return (next) => async (req, ctx) => {
    const started = performance.now();
    const { depth, calls } = toolUsage(req);
    if (o.maxToolDepth !== undefined && depth > o.maxToolDepth) {
      verdict(ctx, 'input', 'block', ['tool_depth'], performance.now() - started);
      throw exceeded('tool_depth', depth, o.maxToolDepth);
    }
    if (o.maxToolCalls !== undefined && calls > o.maxToolCalls) {
      verdict(ctx, 'input', 'block', ['tool_calls'], performance.now() - started);
      throw exceeded('tool_calls', calls, o.maxToolCalls);
    }
    const cap = capFor(req, ctx);
    let request = req;
    if (cap !== undefined && (req.maxTokens === undefined || req.maxTokens > cap)) {
      request = { ...req, maxTokens: cap };
      verdict(ctx, 'input', 'sanitize', ['max_tokens'], performance.now() - started);
    } else verdict(ctx, 'input', 'pass', [], performance.now() - started);

    const response = await next(request, ctx);
    if (o.maxToolCalls === undefined) return response;
    if (response.type === 'completion') {
      checkCalls(ctx, calls, response.message.toolCalls?.length ?? 0);
      return response;
    }
    return mapStream(response, async function* counted(chunks): AsyncIterable<StreamChunk> {
      const seen = new Set<number>();
      for await (const chunk of chunks) {
        if (chunk.type === 'tool-call-delta' && !seen.has(chunk.index)) {
          seen.add(chunk.index);
          checkCalls(ctx, calls, seen.size);
        }
        yield chunk;
      }
    });
  };
}

/** The typed failure of a tool-call cap. */
function exceeded(limit: 'tool_depth' | 'tool_calls', value: number, max: number): RelError {
  return new RelError(
    { kind: 'limit_exceeded', limit, value, max },
    { cause: new Error(`${limit} ${value} > ${max}`) },
  );
}
