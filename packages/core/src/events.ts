import type { DegradeReason } from './context';
import type { FailureKind, RelFailure, TimeoutPhase, UserErrorClass } from './failure';

/** What a fallback was triggered by. */
export type FallbackReason =
  | 'retries_exhausted'
  | 'timeout'
  | 'rate_limited'
  | 'provider_unavailable'
  | 'context_length_exceeded'
  | 'content_filtered'
  | 'circuit_open'
  | 'stream_interrupted'
  | 'budget_downgrade'
  | 'provider_error';

export type BreakerState = 'closed' | 'open' | 'half_open';
export type GuardrailStage = 'input' | 'output';
export type GuardrailAction = 'pass' | 'flag' | 'warn' | 'sanitize' | 'redact' | 'block';

/**
 * Every event a policy can emit, by name. Payloads never carry prompt text, PII or secrets.
 * `requestId` ties an event to its request when there is one.
 */
export interface RelEvents {
  retry: { requestId?: string; attempt: number; delayMs: number; reason: FailureKind };
  'give-up': { requestId?: string; attempts: number; failure: RelFailure };
  timeout: { requestId?: string; operation: string; phase: TimeoutPhase; limitMs: number };
  hedge: { requestId?: string; delayMs: number };
  fallback: { requestId: string; from: string; to: string; reason: FallbackReason };
  'breaker-state': { target: string; from: BreakerState; to: BreakerState; reason: string };
  guardrail: {
    requestId: string;
    name: string;
    stage: GuardrailStage;
    action: GuardrailAction;
    categories: readonly string[];
    latencyMs: number;
  };
  'budget-alert': { scope: string; period: string; thresholdPct: number; spentUsd: number; limitUsd: number };
  degraded: { requestId: string; feature: string; reason: DegradeReason };
  'safe-default': { requestId: string; feature: string; reason: DegradeReason };
  /** A shared-state store failed; `decision` says what the policy did about it. */
  'store-error': { store: string; policy: string; decision: 'fail_open' | 'fail_closed' | 'deferred' };
  'request-end': { requestId: string; ok: boolean; errorClass?: UserErrorClass };
}

export type RelEventName = keyof RelEvents;
export type Listener<K extends RelEventName> = (payload: RelEvents[K]) => void;

/**
 * A small typed event hub. Policies emit; telemetry and apps listen. A listener that throws is
 * reported to `onListenerError` and never breaks the request that emitted.
 * @example
 * const hub = new EventHub();
 * const off = hub.on('retry', (e) => console.log(e.attempt, e.delayMs));
 * off();
 */
export class EventHub {
  readonly #listeners = new Map<RelEventName, Set<(payload: never) => void>>();
  readonly #onListenerError: (error: unknown, event: RelEventName) => void;

  constructor(options: { onListenerError?: (error: unknown, event: RelEventName) => void } = {}) {
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends RelEventName>(event: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  /** True when someone listens, so emitters can skip building payloads. */
  has(event: RelEventName): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends RelEventName>(event: K, payload: RelEvents[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<K>)(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }
}
