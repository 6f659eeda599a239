import {
  type Completion,
  type FailureKind,
  type Handler,
  type LlmRequest,
  type LlmResponse,
  type Middleware,
  RelError,
  type RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  completionAsStream,
  toRelError,
  zeroUsage,
} from '@rel/core';
import { z } from 'zod';
import { GuardedStream, closeChunks } from './guarded-stream';
import { parseOptions } from './parse-options';
import { type SafeDefault, SafeDefaultSchema, safeDefaultAnswer, staticCompletion } from './safe-default';

/** The model name a static or cached degraded answer carries. */
export const DEGRADED_MODEL = 'rel-degraded';

/**
 * What a non-critical feature answers when every route failed:
 * - `route`: a cheaper route (any handler), its own model named in the answer;
 * - `cached`: a stored answer from `lookup` (returns nothing when there is none for this request);
 * - `static`: a fixed message.
 */
export type DegradedAnswer =
  | { type: 'route'; handler: Handler }
  | {
      type: 'cached';
      lookup: (req: LlmRequest, ctx: RequestContext) => Completion | undefined | Promise<Completion | undefined>;
    }
  | { type: 'static'; text: string };

const FeatureFallbackSchema = z.strictObject({
  degraded: z
    .union([
      z.strictObject({ type: z.literal('route'), handler: z.any() }),
      z.strictObject({ type: z.literal('cached'), lookup: z.any() }),
      z.strictObject({ type: z.literal('static'), text: z.string() }),
    ])
    .optional(),
  safeDefault: SafeDefaultSchema.optional(),
});

/** Hard failures: the ones a degraded answer or a safe default may replace. */
const DEFAULT_ON: readonly FailureKind[] = [
  'provider_unavailable',
  'timeout',
  'rate_limited',
  'circuit_open',
  'stream_interrupted',
  'provider_error',
  'malformed_output',
  'internal',
];

const DegradeOptionsSchema = z.strictObject({
  features: z.record(z.string(), FeatureFallbackSchema),
  /** The failure kinds that count as hard failures. Cancellations never do. */
  on: z.array(z.string()).default([...DEFAULT_ON]),
});

/** Per-feature fallbacks. */
export interface FeatureFallback {
  /** Served instead of an error to a non-critical feature (`ctx.feature.critical === false`). */
  degraded?: DegradedAnswer;
  /**
   * A static answer for any request of the feature (critical or not) on a hard failure, once no
   * degraded answer served it. Checked against the request's response schema at use.
   */
  safeDefault?: z.input<typeof SafeDefaultSchema>;
}

/** Options of `degrade`. */
export interface DegradeOptions {
  /** Keyed by `ctx.feature.name`. */
  features: Record<string, FeatureFallback>;
  /** Failure kinds that count as hard failures (default: unavailability, timeouts, rate limits, provider and internal errors). */
  on?: readonly FailureKind[];
}

/**
 * Graceful degradation and safe defaults, keyed by `ctx.feature.name`. When the inner handler
 * fails hard (or its stream fails before any chunk reached the caller): a non-critical feature
 * gets its degraded answer (`ctx.markDegraded`, event `degraded`); failing that, a feature with a
 * safe default gets it (`ctx.markSafeDefault`, event `safe-default`); otherwise the typed failure
 * propagates. Static answers carry zero usage and a `rel-*` model name.
 *
 * @throws RelError `invalid_request` naming the bad option, at construction.
 * @example
 * const handler = compose(
 *   degrade({ features: { suggestions: { degraded: { type: 'static', text: 'No suggestions right now.' } } } }),
 * )(route);
 */
export function degrade(options: DegradeOptions): Middleware {
  const config = parseOptions(DegradeOptionsSchema, options, 'degrade');
  for (const [name, f] of Object.entries(options.features)) {
    const d = f.degraded;
    if (d?.type === 'route' && typeof d.handler !== 'function')
      throw invalidOption(`features.${name}.degraded.handler`, 'must be a function');
    if (d?.type === 'cached' && typeof d.lookup !== 'function')
      throw invalidOption(`features.${name}.degraded.lookup`, 'must be a function');
  }
  const hard = new Set<string>(config.on);
  // Not async itself: a request of a feature without fallbacks goes straight on, with no promise
  // wrapped around the inner one (an async function returning a promise costs three more ticks).
  return (next) => (req, ctx) => {
    const name = ctx.feature.name;
    // Own keys only: a feature called `constructor` has no fallbacks unless configured.
    const feature = Object.hasOwn(options.features, name) ? options.features[name] : undefined;
    if (!feature) return next(req, ctx);
    return withFallbacks(next, req, ctx, feature, config.features[name]?.safeDefault, hard);
  };
}

async function withFallbacks(
  next: Handler,
  req: LlmRequest,
  ctx: RequestContext,
  feature: FeatureFallback,
  parsedDefault: SafeDefault | undefined,
  hard: ReadonlySet<string>,
): Promise<LlmResponse> {
  const substitute = async (error: unknown): Promise<LlmResponse> => {
    const err = toRelError(error, ctx.signal);
    if (ctx.aborted || !hard.has(err.failure.kind)) throw err;
    if (!ctx.feature.critical && feature.degraded) {
      const answer = await degradedAnswer(feature.degraded, req, ctx);
      if (answer) {
        ctx.markDegraded(err.failure.kind);
        ctx.events?.emit('degraded', {
          requestId: ctx.requestId,
          feature: ctx.feature.name,
          reason: err.failure.kind,
        });
        return answer;
      }
    }
    if (parsedDefault) {
      const answer = safeDefaultAnswer(parsedDefault, req);
      if (answer.ok) {
        ctx.markSafeDefault(err.failure.kind);
        ctx.events?.emit('safe-default', {
          requestId: ctx.requestId,
          feature: ctx.feature.name,
          reason: err.failure.kind,
        });
        return answer.completion;
      }
    }
    throw err;
  };
  let response: LlmResponse;
  try {
    response = await next(req, ctx);
  } catch (error) {
    const answer = await substitute(error);
    return req.stream ? asStream(answer) : answer;
  }
  if (response.type === 'completion') return response;
  return {
    ...response,
    chunks: new GuardedStream(guardStream(response, substitute), () => closeChunks(response.chunks)),
  };
}

async function degradedAnswer(
  d: DegradedAnswer,
  req: LlmRequest,
  ctx: RequestContext,
): Promise<LlmResponse | undefined> {
  switch (d.type) {
    case 'static':
      return staticCompletion(d.text, DEGRADED_MODEL, req.model);
    case 'cached': {
      const hit = await d.lookup(req, ctx);
      return hit ? { ...hit, model: DEGRADED_MODEL, provider: 'rel', usage: zeroUsage } : undefined;
    }
    case 'route':
      try {
        return await d.handler(req, ctx);
      } catch {
        return undefined;
      }
  }
}

/** Substitutes the stream when it fails before its first chunk; after that the failure stands. */
async function* guardStream(
  response: StreamingCompletion,
  substitute: (error: unknown) => Promise<LlmResponse>,
): AsyncGenerator<StreamChunk> {
  let emitted = false;
  try {
    for await (const chunk of response.chunks) {
      emitted = true;
      yield chunk;
    }
  } catch (error) {
    if (emitted) throw error;
    yield* asStream(await substitute(error)).chunks;
  }
}

/** A response as a stream, for streaming callers. */
function asStream(response: LlmResponse): StreamingCompletion {
  return response.type === 'stream' ? response : completionAsStream(response);
}

function invalidOption(field: string, message: string): RelError {
  return new RelError(
    { kind: 'invalid_request', param: `degrade.${field}` },
    { message: `invalid option degrade.${field}: ${message}` },
  );
}
