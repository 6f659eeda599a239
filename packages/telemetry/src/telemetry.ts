import { type TracerProvider, trace } from '@opentelemetry/api';
import type { BreakerState, EventHub, Middleware } from '@rel/core';
import { attemptMiddleware } from './attempt-middleware';
import { idHasher, memoizeHasher } from './hash-id';
import { LazyInstruments } from './instruments';
import { listenTo } from './listen';
import { type AttemptTarget, type TelemetryOptions, parseAttemptTarget, parseTelemetryOptions } from './options';
import { requestMiddleware } from './request-middleware';
import { SCOPE_NAME, SCOPE_VERSION } from './scope';
import type { TelemetryState } from './state';

/** What `createTelemetry` returns. */
export interface Telemetry {
  /**
   * The outermost middleware: an INTERNAL span per logical request, the one log record, and the
   * duration, token, time-to-first-chunk, cost and error metrics, all at the end of the call
   * (the end of the stream when streaming).
   */
  readonly request: Middleware;
  /**
   * The innermost middleware around one provider's handler: a CLIENT span per attempt named
   * `{operation} {model}`, child of the request span, with the stream's time to first chunk.
   */
  attempt(target: AttemptTarget): Middleware;
  /**
   * Subscribes to a hub's retry, fallback, breaker-state, guardrail, budget-alert, degraded,
   * safe-default, timeout and hedge events: metric counters and span events on the request span.
   * Listening twice to one hub is a no-op. @returns the function that unsubscribes.
   */
  listen(hub: EventHub): () => void;
  /** Unsubscribes from every hub, stops recording, and flushes the injected providers that can flush. */
  shutdown(): Promise<void>;
  /** Requests in flight now (streams not yet ended included); never more than `maxInFlight`. */
  readonly inFlight: number;
}

/**
 * Creates rel's OpenTelemetry instrumentation. It depends on `@opentelemetry/api` only: with no
 * SDK registered and nothing injected, spans are non-recording and no attribute, metric or log
 * work is done.
 *
 * @param options - Providers (default: the global ones, looked up when first used), an event hub
 *   to listen to, a JSON-lines sink, and the plain-data options (`captureContent`, `hashSalt`, `serviceName`).
 * @throws RelError `invalid_request` naming the bad option.
 * @example
 * const telemetry = createTelemetry({ loggerProvider, events: hub, hashSalt: process.env.REL_HASH_SALT });
 * const openai = compose(telemetry.attempt({ provider: 'openai', serverAddress: 'api.openai.com', serverPort: 443 }))(openaiHandler);
 * const handler = compose(telemetry.request, retry, fallback)(router(openai, anthropic));
 */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const parsed = parseTelemetryOptions(options);
  const breakerStates = new Map<string, BreakerState>();
  const hash = idHasher(parsed.hashSalt);
  const state: TelemetryState = {
    options: parsed,
    hash,
    hashUser: memoizeHasher(hash),
    tracer: tracerOf(options.tracerProvider),
    instruments: new LazyInstruments(options.meterProvider, breakerStates),
    logger: options.loggerProvider?.getLogger(SCOPE_NAME, SCOPE_VERSION),
    jsonLines: options.jsonLines,
    active: new Map(),
    breakerStates,
    closed: false,
  };
  const hubs = new Map<EventHub, () => void>();
  const listen = (hub: EventHub): (() => void) => {
    const existing = hubs.get(hub);
    if (existing) return existing;
    const stop = listenTo(state, hub);
    const off = () => {
      if (hubs.get(hub) === off) hubs.delete(hub);
      stop();
    };
    hubs.set(hub, off);
    return off;
  };
  if (options.events) listen(options.events);
  return {
    request: requestMiddleware(state),
    attempt: (target) => attemptMiddleware(state, parseAttemptTarget(target)),
    listen,
    get inFlight() {
      return state.active.size;
    },
    async shutdown() {
      state.closed = true;
      for (const off of [...hubs.values()]) off();
      await Promise.all(
        [options.tracerProvider, options.meterProvider, options.loggerProvider].map((p) =>
          (p as { forceFlush?: () => Promise<void> } | undefined)?.forceFlush?.(),
        ),
      );
    },
  };
}

/** The injected provider's tracer, else the global proxy tracer (which follows a later registration). */
function tracerOf(provider: TracerProvider | undefined) {
  return provider ? provider.getTracer(SCOPE_NAME, SCOPE_VERSION) : trace.getTracer(SCOPE_NAME, SCOPE_VERSION);
}
