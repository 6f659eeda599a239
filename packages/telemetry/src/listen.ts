import { type Span, trace } from '@opentelemetry/api';
import type { EventHub } from '@rel/core';
import {
  ATTR_REL_BUDGET_PERIOD,
  ATTR_REL_BUDGET_THRESHOLD_PCT,
  ATTR_REL_DEGRADATION_MODE,
  ATTR_REL_DEGRADATION_REASON,
  ATTR_REL_FALLBACK_FROM,
  ATTR_REL_FALLBACK_REASON,
  ATTR_REL_FALLBACK_TO,
  ATTR_REL_FEATURE_NAME,
  ATTR_REL_GUARDRAIL_NAME,
  ATTR_REL_GUARDRAIL_STAGE,
  ATTR_REL_GUARDRAIL_VERDICT,
  ATTR_REL_HEDGE_DELAY_MS,
  ATTR_REL_RETRY_DELAY_MS,
  ATTR_REL_RETRY_REASON,
  ATTR_REL_TIMEOUT_LIMIT_MS,
  ATTR_REL_TIMEOUT_PHASE,
  ATTR_REL_ATTEMPT_NUMBER,
  EVENT_REL_DEGRADED,
  EVENT_REL_FALLBACK,
  EVENT_REL_GUARDRAIL_EVALUATED,
  EVENT_REL_HEDGE,
  EVENT_REL_RETRY,
  EVENT_REL_SAFE_DEFAULT,
  EVENT_REL_TIMEOUT,
} from './semconv';
import { guardrailEventAttributes } from './span-events';
import type { TelemetryState } from './state';

/**
 * The recording span an event belongs to: its request's span when the event names a request in
 * flight, else the active span (an event without a request id happened inside it), else none.
 */
function spanFor(state: TelemetryState, requestId: string | undefined): Span | undefined {
  const span = requestId === undefined ? trace.getActiveSpan() : state.active.get(requestId)?.span;
  return span?.isRecording() ? span : undefined;
}

/**
 * Subscribes to the policies' events: metric counters, and span events on the request span.
 * Metric attributes stay low-cardinality: reasons, targets, names, never ids.
 * @returns the function that unsubscribes.
 */
export function listenTo(state: TelemetryState, hub: EventHub): () => void {
  const offs = [
    hub.on('retry', (e) => {
      state.instruments.get()?.retries.add(1, { [ATTR_REL_RETRY_REASON]: e.reason });
      spanFor(state, e.requestId)?.addEvent(EVENT_REL_RETRY, {
        [ATTR_REL_ATTEMPT_NUMBER]: e.attempt,
        [ATTR_REL_RETRY_DELAY_MS]: e.delayMs,
        [ATTR_REL_RETRY_REASON]: e.reason,
      });
    }),
    hub.on('fallback', (e) => {
      const attrs = {
        [ATTR_REL_FALLBACK_REASON]: e.reason,
        [ATTR_REL_FALLBACK_FROM]: e.from,
        [ATTR_REL_FALLBACK_TO]: e.to,
      };
      state.instruments.get()?.fallbacks.add(1, attrs);
      spanFor(state, e.requestId)?.addEvent(EVENT_REL_FALLBACK, attrs);
    }),
    hub.on('breaker-state', (e) => {
      state.breakerStates.set(e.target, e.to);
      // Creates the instruments (the observable gauge among them) if nothing else has yet.
      state.instruments.get();
    }),
    hub.on('guardrail', (e) => {
      state.instruments.get()?.guardrails.add(`${e.name}\u0000${e.stage}\u0000${e.action}`, () => ({
        [ATTR_REL_GUARDRAIL_NAME]: e.name,
        [ATTR_REL_GUARDRAIL_STAGE]: e.stage,
        [ATTR_REL_GUARDRAIL_VERDICT]: e.action,
      }));
      const request = state.active.get(e.requestId);
      if (request?.recording) {
        request.guardrailEvents += 1;
        request.span.addEvent(EVENT_REL_GUARDRAIL_EVALUATED, guardrailEventAttributes(e));
      }
    }),
    hub.on('budget-alert', (e) => {
      state.instruments.get()?.budgetAlerts.add(1, {
        [ATTR_REL_BUDGET_PERIOD]: e.period,
        [ATTR_REL_BUDGET_THRESHOLD_PCT]: e.thresholdPct,
      });
    }),
    hub.on('degraded', (e) => {
      const attrs = {
        [ATTR_REL_FEATURE_NAME]: e.feature,
        [ATTR_REL_DEGRADATION_MODE]: 'degraded',
        [ATTR_REL_DEGRADATION_REASON]: e.reason,
      };
      state.instruments.get()?.degradations.add(1, attrs);
      spanFor(state, e.requestId)?.addEvent(EVENT_REL_DEGRADED, attrs);
    }),
    hub.on('safe-default', (e) => {
      const attrs = {
        [ATTR_REL_FEATURE_NAME]: e.feature,
        [ATTR_REL_DEGRADATION_MODE]: 'safe_default',
        [ATTR_REL_DEGRADATION_REASON]: e.reason,
      };
      state.instruments.get()?.degradations.add(1, attrs);
      spanFor(state, e.requestId)?.addEvent(EVENT_REL_SAFE_DEFAULT, attrs);
    }),
    hub.on('timeout', (e) => {
      spanFor(state, e.requestId)?.addEvent(EVENT_REL_TIMEOUT, {
        [ATTR_REL_TIMEOUT_PHASE]: e.phase,
        [ATTR_REL_TIMEOUT_LIMIT_MS]: e.limitMs,
      });
    }),
    hub.on('hedge', (e) => {
      spanFor(state, e.requestId)?.addEvent(EVENT_REL_HEDGE, { [ATTR_REL_HEDGE_DELAY_MS]: e.delayMs });
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
