import type { Context, Span, Tracer } from '@opentelemetry/api';
import type { BreakerState } from '@rel/core';
import type { LazyInstruments } from './instruments';
import type { JsonLinesSink, ParsedTelemetryOptions, TelemetryLogRecord } from './options';

/** One logical request in flight, found by its request id from attempts and events. */
export interface RequestState {
  readonly span: Span;
  /** The context with the request span set: the parent of attempt spans. */
  readonly context: Context;
  readonly recording: boolean;
  readonly startMs: number;
  firstChunkMs: number | undefined;
  /** Attempt spans started for this request, numbering attempts that carry no `ctx.attempt`. */
  attemptsSeen: number;
  /** `gen_ai.provider.name` of the last attempt that answered (the target given to `attempt`). */
  answeredBy: string | undefined;
  /** `gen_ai.provider.name` of the last attempt started, for the metrics of a request that failed. */
  lastProvider: string | undefined;
  /** Guardrail span events already added from the event hub. */
  guardrailEvents: number;
  /** Set once the request's telemetry ended; a later end (a stream read after it was abandoned) is a no-op. */
  ended: boolean;
  /** Ends the request's telemetry early, as abandoned for `reason`. */
  abandon: (reason: AbandonReason) => void;
  /** Removes the abort listener of a returned stream, once its telemetry ended. */
  stopWatching: (() => void) | undefined;
}

/**
 * Why telemetry ended a request before its stream did: its signal aborted while the stream was
 * unread or paused, or more than `maxInFlight` requests were in flight and it was the oldest.
 */
export type AbandonReason = 'signal_aborted' | 'evicted';

/** What the request and attempt middlewares and the event listener share. */
export interface TelemetryState {
  readonly options: ParsedTelemetryOptions;
  readonly hash: (id: string) => string;
  /** `hash`, remembered per user id (users repeat; idempotency keys do not). */
  readonly hashUser: (id: string) => string;
  readonly tracer: Tracer;
  readonly instruments: LazyInstruments;
  readonly logger: { emit(record: TelemetryLogRecord): void } | undefined;
  readonly jsonLines: JsonLinesSink | undefined;
  /** Requests in flight by request id; an entry is removed when its request (or stream) ends. */
  readonly active: Map<string, RequestState>;
  readonly breakerStates: Map<string, BreakerState>;
  closed: boolean;
}
