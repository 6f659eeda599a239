import {
  type LlmRequest,
  type Middleware,
  type RequestContext,
  RelError,
  type StreamChunk,
  mapStream,
} from '@rel/core';
import { z } from 'zod';
import { recordGuardrail, stopwatch } from '../output/record-verdict';

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

  return (next) => async (req, ctx) => {
    const elapsed = stopwatch();
    const verdict = (action: 'pass' | 'sanitize' | 'block', categories: string[]) =>
      recordGuardrail(ctx, { name: o.name, stage: 'input', action, categories, latencyMs: elapsed() });
    const exceed = (limit: 'tool_depth' | 'tool_calls', value: number, max: number): never => {
      const failure = { kind: 'limit_exceeded', limit, value, max } as const;
      throw new RelError(failure, { cause: new Error(`${limit} ${value} > ${max}`) });
    };

    const { depth, calls } = toolUsage(req);
    if (o.maxToolDepth !== undefined && depth > o.maxToolDepth) {
      verdict('block', ['tool_depth']);
      exceed('tool_depth', depth, o.maxToolDepth);
    }
    if (o.maxToolCalls !== undefined && calls > o.maxToolCalls) {
      verdict('block', ['tool_calls']);
      exceed('tool_calls', calls, o.maxToolCalls);
    }
    const cap = capFor(req, ctx);
    let request = req;
    if (cap !== undefined && (req.maxTokens === undefined || req.maxTokens > cap)) {
      request = { ...req, maxTokens: cap };
      verdict('sanitize', ['max_tokens']);
    } else verdict('pass', []);

    const response = await next(request, ctx);
    const maxCalls = o.maxToolCalls;
    if (maxCalls === undefined) return response;
    const overCalls = (answered: number) => {
      const check = stopwatch();
      const total = calls + answered;
      if (total <= maxCalls) return;
      recordGuardrail(ctx, {
        name: o.name,
        stage: 'output',
        action: 'block',
        categories: ['tool_calls'],
        latencyMs: check(),
      });
      exceed('tool_calls', total, maxCalls);
    };
    if (response.type === 'completion') {
      overCalls(response.message.toolCalls?.length ?? 0);
      return response;
    }
    return mapStream(response, async function* counted(chunks): AsyncIterable<StreamChunk> {
      const seen = new Set<number>();
      for await (const chunk of chunks) {
        if (chunk.type === 'tool-call-delta' && !seen.has(chunk.index)) {
          seen.add(chunk.index);
          overCalls(seen.size);
        }
        yield chunk;
      }
    });
  };
}
