import type { LlmRequest, RelFailure } from '@rel/core';
import type { Answer } from './answer';
import type { AttemptOutcome } from './attempt-log';
import type { ResponseMeta } from './openai-wire';

/** How a streamed (or streamed-like) answer misbehaves after it started. */
export interface StreamFault {
  /** Wait after the headers before the first chunk (or the body). */
  readonly slowFirstTokenMs?: number;
  /** Destroy the connection after this many content chunks. */
  readonly cutAfter?: number;
  /** After `afterChunks` content chunks wait `stallMs`, then close without a finish. */
  readonly stall?: { readonly afterChunks: number; readonly stallMs: number };
  /** Send one event of invalid JSON before content chunk number `malformedAt` (0-based). */
  readonly malformedAt?: number;
  /** Omit `data: [DONE]`. */
  readonly noDone?: boolean;
}

/**
 * What the fake provider decided to do with one request, independent of the transport: the HTTP
 * server and the in-process handler both carry out the same plan.
 */
export type Plan =
  | {
      readonly kind: 'error';
      readonly outcome: AttemptOutcome;
      readonly latencyMs: number;
      readonly status: number;
      readonly headers: Record<string, string>;
      readonly body: unknown;
      /** The failure an adapter would raise for this answer. */
      readonly failure: RelFailure;
    }
  | { readonly kind: 'reset'; readonly outcome: AttemptOutcome; readonly latencyMs: number }
  | { readonly kind: 'hang'; readonly outcome: AttemptOutcome; readonly latencyMs: number }
  | {
      readonly kind: 'answer';
      readonly outcome: AttemptOutcome;
      readonly latencyMs: number;
      readonly chunkDelayMs: number;
      readonly stream: boolean;
      readonly includeUsage: boolean;
      readonly meta: ResponseMeta;
      readonly answer: Answer;
      readonly fault: StreamFault;
    };

/** What a transport tells the fake about one request it received. */
export interface PlanInput {
  readonly request: LlmRequest;
  readonly includeUsage: boolean;
  /** Request headers, lower-cased (in-process: the request metadata). */
  readonly headers: Record<string, string>;
  readonly idempotencyKey?: string;
}
