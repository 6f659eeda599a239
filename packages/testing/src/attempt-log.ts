import type { ChatMessage } from '@rel/core';
import type { FaultType } from './faults';

/** How the fake provider answered one attempt. */
export type AttemptOutcome =
  | 'ok'
  | `fault:${FaultType}`
  | 'down'
  | 'prefill_rejected'
  | 'context_length'
  /** The request body itself was rejected (malformed JSON, missing `model` or `messages`). */
  | 'invalid_request';

/** One request the fake provider received, as tests assert on it. */
export interface Attempt {
  /** Clock milliseconds when the request was received. */
  readonly at: number;
  /** The model asked for. */
  readonly model: string;
  readonly stream: boolean;
  readonly outcome: AttemptOutcome;
  /** The `Idempotency-Key` header (HTTP) or `ctx.idempotencyKey` (in-process). */
  readonly idempotencyKey?: string;
  /** The messages as received, converted to `@rel/core` messages. */
  readonly messages: ChatMessage[];
  /** Request headers, lower-cased (in-process: `req.metadata`). */
  readonly headers: Record<string, string>;
}

/**
 * The attempt log: one entry per request, in arrival order.
 * @example
 * const log = new AttemptLog();
 * log.record({ at: 0, model: 'm', stream: false, outcome: 'ok', messages: [], headers: {} });
 * log.for('m').length // 1
 */
export class AttemptLog {
  #entries: Attempt[] = [];

  /** Appends one attempt. */
  record(attempt: Attempt): void {
    this.#entries.push(attempt);
  }

  /** Every attempt so far, oldest first. */
  get entries(): readonly Attempt[] {
    return this.#entries;
  }

  /** The attempts that asked for `model`. */
  for(model: string): readonly Attempt[] {
    return this.#entries.filter((a) => a.model === model);
  }

  /** Forgets every attempt. */
  clear(): void {
    this.#entries = [];
  }
}
