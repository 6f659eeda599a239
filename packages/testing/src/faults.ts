import { z } from 'zod';

/**
 * One way the fake provider can misbehave, applied to one request. Queue faults per model with
 * `FakeProvider.fail` / `always`, or send one with a request in the `x-fake-fault` header (JSON).
 */
export const FaultSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('status'),
    status: z.number().int().min(100).max(599),
    /** The raw `Retry-After` header value (seconds or an HTTP date). */
    retryAfter: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional(),
  }),
  z.strictObject({ type: z.literal('rate_limit'), retryAfterSeconds: z.number().nonnegative().optional() }),
  z.strictObject({
    type: z.literal('server_error'),
    status: z.union([z.literal(500), z.literal(502), z.literal(503)]).optional(),
  }),
  z.strictObject({ type: z.literal('reset') }),
  z.strictObject({ type: z.literal('hang') }),
  z.strictObject({ type: z.literal('slow_first_token'), delayMs: z.number().nonnegative() }),
  z.strictObject({ type: z.literal('cut_stream'), afterChunks: z.number().int().nonnegative() }),
  z.strictObject({
    type: z.literal('stall'),
    afterChunks: z.number().int().nonnegative(),
    stallMs: z.number().nonnegative(),
  }),
  z.strictObject({ type: z.literal('malformed_sse'), atChunk: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal('no_done') }),
  z.strictObject({ type: z.literal('context_length') }),
  z.strictObject({ type: z.literal('content_filter') }),
  z.strictObject({ type: z.literal('invalid_json_output') }),
  z.strictObject({ type: z.literal('schema_violation') }),
]);

/** A fault of the fake provider; see `FaultSchema` for each variant's meaning. */
export type Fault = z.infer<typeof FaultSchema>;

/** The `type` of a fault, such as `rate_limit` or `cut_stream`. */
export type FaultType = Fault['type'];

/**
 * Validates a fault, throwing a `TypeError` that names the bad field.
 * @throws TypeError when `value` is not a valid `Fault`.
 * @example parseFault({ type: 'rate_limit', retryAfterSeconds: 2 })
 */
export function parseFault(value: unknown, where = 'fault'): Fault {
  const parsed = FaultSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = [where, ...(issue?.path ?? []).map(String)].join('.');
  throw new TypeError(`${path}: ${issue?.message ?? 'invalid fault'}`, { cause: parsed.error });
}

/**
 * Parses the `x-fake-fault` header value (the JSON of one `Fault`).
 * @throws TypeError when the header is not JSON or not a valid fault.
 * @example parseFaultHeader('{"type":"reset"}') // { type: 'reset' }
 */
export function parseFaultHeader(header: string): Fault {
  let json: unknown;
  try {
    json = JSON.parse(header);
  } catch (error) {
    throw new TypeError('x-fake-fault: not valid JSON', { cause: error });
  }
  return parseFault(json, 'x-fake-fault');
}
