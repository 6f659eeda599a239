import type { FallbackReason, RelFailure } from '@rel/core';
import { z } from 'zod';

/**
 * Which failures move a request to the next target. Every trigger is on by default except
 * `contentFiltered`: a content-policy refusal propagates with the provider's reason, since another
 * model answering what one provider refused is a product decision, not a default.
 */
export const TriggersSchema = z.strictObject({
  /** A retryable failure that survived the target's own retries (its middlewares called it more than once). */
  retriesExhausted: z.boolean().default(true),
  timeout: z.boolean().default(true),
  /**
   * `true`: fall back at once. `{ waitUpToMs }`: when the provider asks for a wait no longer than
   * this (and the request's deadline allows it), wait and try the same target once more; a longer
   * wait than the caller can afford falls back.
   */
  rateLimited: z.union([z.boolean(), z.strictObject({ waitUpToMs: z.number().int().nonnegative() })]).default(true),
  providerUnavailable: z.boolean().default(true),
  /** Goes to the route's `largerContext` target (or the next target with a larger `contextWindow`), never the same model. */
  contextLengthExceeded: z.boolean().default(true),
  contentFiltered: z.boolean().default(false),
  /** A stream that failed before its end (see the router's mid-stream failover). */
  streamInterrupted: z.boolean().default(true),
  /** The provider answered something unusable, or refused rel's own credentials. */
  providerError: z.boolean().default(true),
});

/** Trigger options as written by the caller. */
export type TriggerOptions = z.input<typeof TriggersSchema>;
/** Trigger options after parsing. */
export type Triggers = z.output<typeof TriggersSchema>;

/**
 * The fallback reason for a failure under `triggers`, or `undefined` when the failure must
 * propagate. `retried` says the target's middlewares already called the provider more than once.
 * Cancellations and the caller's own errors (invalid request, guardrails, budgets) always propagate.
 * @example fallbackReason({ kind: 'provider_unavailable', status: 503 }, triggers, true) // 'retries_exhausted'
 */
export function fallbackReason(failure: RelFailure, triggers: Triggers, retried: boolean): FallbackReason | undefined {
  const specific = specificReason(failure, triggers);
  if (specific === undefined) return undefined;
  const retryable =
    failure.kind === 'provider_unavailable' || failure.kind === 'timeout' || failure.kind === 'rate_limited';
  if (retried && retryable) return triggers.retriesExhausted ? 'retries_exhausted' : undefined;
  return specific;
}

function specificReason(failure: RelFailure, t: Triggers): FallbackReason | undefined {
  switch (failure.kind) {
    case 'provider_unavailable':
      return t.providerUnavailable ? 'provider_unavailable' : undefined;
    case 'timeout':
      return t.timeout ? 'timeout' : undefined;
    case 'rate_limited':
      return t.rateLimited !== false ? 'rate_limited' : undefined;
    case 'context_length_exceeded':
      return t.contextLengthExceeded ? 'context_length_exceeded' : undefined;
    case 'content_filtered':
      return t.contentFiltered ? 'content_filtered' : undefined;
    case 'stream_interrupted':
      return t.streamInterrupted ? 'stream_interrupted' : undefined;
    case 'provider_error':
      return t.providerError ? 'provider_error' : undefined;
    case 'unauthorized':
      return failure.origin === 'provider' && t.providerError ? 'provider_error' : undefined;
    case 'circuit_open':
      return 'circuit_open';
    case 'invalid_request':
    case 'malformed_output':
    case 'guardrail_blocked':
    case 'budget_exceeded':
    case 'quota_exceeded':
    case 'limit_exceeded':
    case 'cancelled':
    case 'internal':
      return undefined;
  }
}
