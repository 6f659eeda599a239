import type { AnswerVariant } from './answer';
import {
  type ErrorResponse,
  contentFilterResponse,
  contextLengthResponse,
  rateLimitResponse,
  serverErrorResponse,
  statusResponse,
} from './error-responses';
import type { Fault } from './faults';
import type { StreamFault } from './plan';

/** What one fault does to a request: answer an error, break the connection, or shape the answer. */
export type FaultEffect =
  | { readonly kind: 'error'; readonly response: ErrorResponse }
  | { readonly kind: 'reset' | 'hang' }
  | { readonly kind: 'answer'; readonly variant: AnswerVariant; readonly streamFault: StreamFault };

/** The facts of the request a fault's answer depends on. */
export interface FaultFacts {
  readonly model: string;
  readonly promptTokens: number;
  readonly contextWindow: number;
  /** Clock milliseconds now, for an HTTP-date `Retry-After`. */
  readonly now: number;
}

/**
 * Decides what `fault` does to one request, independent of the transport.
 * @example effectOf({ type: 'cut_stream', afterChunks: 2 }, facts) // { kind: 'answer', variant: 'valid', streamFault: { cutAfter: 2 } }
 */
export function effectOf(fault: Fault, facts: FaultFacts): FaultEffect {
  const error = (response: ErrorResponse): FaultEffect => ({ kind: 'error', response });
  const answer = (streamFault: StreamFault, variant: AnswerVariant = 'valid'): FaultEffect => ({
    kind: 'answer',
    variant,
    streamFault,
  });
  switch (fault.type) {
    case 'status':
      return error(statusResponse(fault, facts.now));
    case 'rate_limit':
      return error(rateLimitResponse(facts.model, fault.retryAfterSeconds));
    case 'server_error':
      return error(serverErrorResponse(fault.status ?? 500));
    case 'context_length':
      return error(contextLengthResponse(facts.contextWindow, Math.max(facts.promptTokens, facts.contextWindow + 1)));
    case 'content_filter':
      return error(contentFilterResponse());
    case 'reset':
    case 'hang':
      return { kind: fault.type };
    case 'invalid_json_output':
      return answer({}, 'invalid_json');
    case 'schema_violation':
      return answer({}, 'schema_violation');
    case 'slow_first_token':
      return answer({ slowFirstTokenMs: fault.delayMs });
    case 'cut_stream':
      return answer({ cutAfter: fault.afterChunks });
    case 'stall':
      return answer({ stall: { afterChunks: fault.afterChunks, stallMs: fault.stallMs } });
    case 'malformed_sse':
      return answer({ malformedAt: fault.atChunk });
    case 'no_done':
      return answer({ noDone: true });
  }
}
