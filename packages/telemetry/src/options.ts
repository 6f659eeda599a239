import type { Context, MeterProvider, TracerProvider } from '@opentelemetry/api';
import { type EventHub, RelError } from '@rel/core';
import { z } from 'zod';

/** The plain-data options of `createTelemetry`, validated once when it is called. */
export const TelemetryOptionsSchema = z.strictObject({
  /**
   * Record message content (`gen_ai.input.messages`, `gen_ai.output.messages`) on attempt spans.
   * Off by default: prompts carry PII and secrets. The log record never carries content.
   */
  captureContent: z.boolean().default(false),
  /**
   * Salt for hashing user ids and idempotency keys. Give every instance the same secret salt to
   * correlate hashes across them; without one a random per-process salt is used.
   */
  hashSalt: z.string().min(8).optional(),
  /** Written as `service` on each JSON line. */
  serviceName: z.string().min(1).max(256).optional(),
  /**
   * Most requests tracked in flight at once. A request over the limit ends the oldest one's
   * telemetry as abandoned (`rel.abandoned: evicted`), so streams that are never read cannot grow
   * memory without bound. Default 10000.
   */
  maxInFlight: z.number().int().positive().default(10_000),
});

/** The validated plain-data options. */
export type ParsedTelemetryOptions = z.output<typeof TelemetryOptionsSchema>;

/** One structured log record, as the OpenTelemetry Logs API's `Logger.emit` takes it. */
export interface TelemetryLogRecord {
  eventName?: string;
  /** Milliseconds since the epoch. */
  timestamp?: number;
  severityNumber?: number;
  severityText?: string;
  body?: string;
  attributes?: Record<string, string | number | boolean>;
  /** The request span's context, so the SDK stamps trace and span ids on the record. */
  context?: Context;
}

/**
 * The slice of the OpenTelemetry Logs API this package uses, typed structurally so it needs no
 * runtime dependency on `@opentelemetry/api-logs`: the SDK's `LoggerProvider` satisfies it.
 */
export interface TelemetryLoggerProvider {
  getLogger(name: string, version?: string): { emit(record: TelemetryLogRecord): void };
}

/** Where JSON lines go: anything with `write(string)`, such as `process.stdout` or a file stream. */
export interface JsonLinesSink {
  write(line: string): unknown;
}

/**
 * Options of `createTelemetry`. Providers default to the globally registered ones, resolved when
 * first used (so an SDK registered after `createTelemetry` is still picked up).
 */
export type TelemetryOptions = z.input<typeof TelemetryOptionsSchema> & {
  tracerProvider?: TracerProvider;
  meterProvider?: MeterProvider;
  /** Receives one log record per request. There is no global logs provider in `@opentelemetry/api`. */
  loggerProvider?: TelemetryLoggerProvider;
  /** Subscribed at once, as `listen(events)` would. */
  events?: EventHub;
  /** Receives one JSON line per request, for teams without a collector. */
  jsonLines?: JsonLinesSink;
};

/** Validates the plain-data options. @throws RelError `invalid_request` naming the bad field. */
export function parseTelemetryOptions(options: TelemetryOptions): ParsedTelemetryOptions {
  const { tracerProvider, meterProvider, loggerProvider, events, jsonLines, ...data } = options;
  const parsed = TelemetryOptionsSchema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.length
    ? issue.path.join('.')
    : issue?.code === 'unrecognized_keys'
      ? issue.keys.join(', ')
      : '';
  throw new RelError(
    { kind: 'invalid_request', param: `telemetry.${field}` },
    { message: `createTelemetry: invalid option \`${field}\`: ${issue?.message ?? 'invalid'}`, cause: parsed.error },
  );
}

/** Where a provider attempt goes, for the CLIENT span's `gen_ai.provider.name`, `server.address` and `server.port`. */
export const AttemptTargetSchema = z.strictObject({
  /** `gen_ai.provider.name`, such as `openai`, `anthropic`, `aws.bedrock`. */
  provider: z.string().min(1).max(128),
  serverAddress: z.string().min(1).max(512).optional(),
  serverPort: z.number().int().min(1).max(65535).optional(),
});

/** Where a provider attempt goes. */
export type AttemptTarget = z.infer<typeof AttemptTargetSchema>;

/** Validates an attempt target. @throws RelError `invalid_request` naming the bad field. */
export function parseAttemptTarget(target: AttemptTarget): AttemptTarget {
  const parsed = AttemptTargetSchema.safeParse(target);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  throw new RelError(
    { kind: 'invalid_request', param: `attempt.${field}` },
    { message: `telemetry.attempt: invalid target \`${field}\`: ${issue?.message ?? 'invalid'}`, cause: parsed.error },
  );
}
