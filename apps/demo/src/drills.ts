import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type RandomSource, seededRandom } from '@rel/core';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_REL_BREAKER_STATE,
  ATTR_REL_BREAKER_TARGET,
  ATTR_REL_ERROR_CLASS,
  ATTR_REL_FALLBACK_REASON,
  ATTR_REL_FEATURE_NAME,
  ATTR_REL_GUARDRAIL_NAME,
  ATTR_REL_GUARDRAIL_VERDICT,
  ATTR_REL_RETRY_REASON,
  EVENT_REL_GUARDRAIL_EVALUATED,
  EVENT_REL_TIMEOUT,
  ATTR_REL_TIMEOUT_PHASE,
  METRIC_REL_BREAKER_STATE,
  METRIC_REL_DEGRADATIONS,
  METRIC_REL_ERRORS,
  METRIC_REL_FALLBACKS,
  METRIC_REL_GUARDRAIL_EVALUATIONS,
  METRIC_REL_RETRIES,
} from '@rel/telemetry';
import type { Attempt } from '@rel/testing';
import type { DrillName } from './cli';
import { find, sumBy } from './collect';
import type { Script } from './day-plan';
import { incidentFault, spreadByWeight } from './day-plan';
import type { EventLog } from './event-log';
import { FEATURES, type Incident, MODELS, type PlannedRequest, type RequestFault, type RequestKind } from './scenario';

/** What a drill's signal checks read after the run. */
export interface SignalContext {
  readonly metrics: readonly MetricData[];
  readonly spans: readonly ReadableSpan[];
  readonly events: EventLog;
  /** Every request the fake provider received. */
  readonly upstream: readonly Attempt[];
}

/** One signal a playbook names, and how to see that it fired. */
export interface Signal {
  /** As the playbook writes it, e.g. `rel.fallbacks{rel.fallback.reason="circuit_open"} > 0`. */
  readonly name: string;
  readonly check: (ctx: SignalContext) => { fired: boolean; observed: string };
}

/** An incident drill: a short script that reproduces one incident, and the signals it must fire. */
export interface Drill {
  readonly name: DrillName;
  readonly title: string;
  readonly defaultRequests: number;
  plan(requests: number, seed: number): Script;
  readonly signals: readonly Signal[];
}

const HOUR_MS = 400;

const counter = (ctx: SignalContext, metric: string, match: (a: Record<string, unknown>) => boolean) =>
  Object.values(sumBy(find(ctx.metrics, metric), (a) => (match(a) ? 'x' : undefined))).reduce((x, y) => x + y, 0);

const atLeastOne = (n: number) => ({ fired: n > 0, observed: String(n) });

/**
 * Plans a drill's traffic: `requests` spread evenly over `hours`, with `mix` deciding each one's
 * org, feature, kind and fault.
 */
function planDrill(
  name: string,
  hours: number,
  requests: number,
  seed: number,
  incidents: readonly Incident[],
  mix: (
    random: RandomSource,
    hour: number,
  ) => { feature: string; kind: RequestKind; org?: string; fault?: RequestFault },
): Script {
  const random = seededRandom(seed);
  const times = spreadByWeight(
    requests,
    Array.from({ length: hours }, () => 1),
  );
  const planned = times.map((hour, index): PlannedRequest => {
    const m = mix(random, hour);
    const alias = FEATURES.find((f) => f.name === m.feature)?.alias ?? 'chat';
    const fault = m.fault ?? incidentFault(random, incidents, hour, alias);
    return {
      index,
      atMs: Math.round(hour * HOUR_MS),
      org: m.org ?? (random() < 0.6 ? 'acme' : 'globex'),
      feature: m.feature,
      alias,
      kind: m.kind,
      user: `user-${1 + Math.floor(random() * 20)}`,
      ...(fault ? { fault } : {}),
    };
  });
  return { name, hours, hourMs: HOUR_MS, requests: planned, incidents };
}

const outage: Drill = {
  name: 'outage',
  title: 'Model outage: the primary answers 503 for three hours',
  defaultRequests: 120,
  plan: (requests, seed) =>
    planDrill(
      'outage drill',
      8,
      requests,
      seed,
      [
        {
          name: 'outage',
          label: 'primary outage',
          fromHour: 2,
          toHour: 5,
          model: MODELS.primary,
          effect: { type: 'down' },
        },
      ],
      (random) =>
        random() < 0.7
          ? { feature: 'assistant', kind: random() < 0.3 ? 'stream' : 'chat' }
          : { feature: 'suggestions', kind: 'chat' },
    ),
  signals: [
    {
      name: 'rel.fallbacks{rel.fallback.reason=~"retries_exhausted|provider_unavailable"} > 0',
      check: (ctx) =>
        atLeastOne(
          counter(ctx, METRIC_REL_FALLBACKS, (a) =>
            ['retries_exhausted', 'provider_unavailable'].includes(String(a[ATTR_REL_FALLBACK_REASON])),
          ),
        ),
    },
    {
      name: 'rel.fallbacks{rel.fallback.reason="circuit_open"} > 0',
      check: (ctx) =>
        atLeastOne(counter(ctx, METRIC_REL_FALLBACKS, (a) => a[ATTR_REL_FALLBACK_REASON] === 'circuit_open')),
    },
    {
      name: 'event breaker-state primary closed -> open',
      check: (ctx) =>
        atLeastOne(
          ctx.events.of('breaker-state').filter((e) => e.payload.target === 'primary' && e.payload.to === 'open')
            .length,
        ),
    },
    {
      name: 'event breaker-state primary half_open -> closed (recovery)',
      check: (ctx) =>
        atLeastOne(
          ctx.events
            .of('breaker-state')
            .filter(
              (e) => e.payload.target === 'primary' && e.payload.from === 'half_open' && e.payload.to === 'closed',
            ).length,
        ),
    },
    {
      name: 'metric rel.breaker.state{rel.breaker.target="primary"} reported',
      check: (ctx) =>
        atLeastOne(
          find(ctx.metrics, METRIC_REL_BREAKER_STATE)?.dataPoints.filter(
            (p) =>
              p.attributes[ATTR_REL_BREAKER_TARGET] === 'primary' && p.attributes[ATTR_REL_BREAKER_STATE] !== undefined,
          ).length ?? 0,
        ),
    },
    {
      name: 'request spans with attribute rel.fallback.reason',
      check: (ctx) => atLeastOne(ctx.spans.filter((s) => s.attributes[ATTR_REL_FALLBACK_REASON] !== undefined).length),
    },
    {
      name: 'rel.degradations{rel.feature.name="suggestions"} > 0',
      check: (ctx) =>
        atLeastOne(counter(ctx, METRIC_REL_DEGRADATIONS, (a) => a[ATTR_REL_FEATURE_NAME] === 'suggestions')),
    },
    {
      name: 'rel.errors{gen_ai.request.model="chat"} == 0 (the critical feature is served by the backup)',
      check: (ctx) => {
        const n = counter(ctx, METRIC_REL_ERRORS, (a) => a[ATTR_GEN_AI_REQUEST_MODEL] === 'chat');
        return { fired: n === 0, observed: String(n) };
      },
    },
  ],
};

const latency: Drill = {
  name: 'latency',
  title: 'Degraded latency: the primary answers in 180-450 ms against a 250 ms attempt limit',
  defaultRequests: 120,
  plan: (requests, seed) =>
    planDrill(
      'latency drill',
      10,
      requests,
      seed,
      [
        {
          name: 'slow_model',
          label: 'slow primary',
          fromHour: 4,
          toHour: 8,
          model: MODELS.primary,
          effect: { type: 'slow', latencyMs: { min: 180, max: 450 } },
        },
      ],
      (random) => ({ feature: 'assistant', kind: random() < 0.4 ? 'stream' : 'chat' }),
    ),
  signals: [
    {
      name: 'span event rel.timeout with rel.timeout.phase="first_token" (streams)',
      check: (ctx) => atLeastOne(timeoutEvents(ctx, 'first_token')),
    },
    {
      name: 'span event rel.timeout with rel.timeout.phase="total"',
      check: (ctx) => atLeastOne(timeoutEvents(ctx, 'total')),
    },
    {
      name: 'attempt spans "chat gpt-primary" with error.type="timeout"',
      check: (ctx) =>
        atLeastOne(
          ctx.spans.filter((s) => s.name === `chat ${MODELS.primary}` && s.attributes[ATTR_ERROR_TYPE] === 'timeout')
            .length,
        ),
    },
    {
      name: 'rel.retries{rel.retry.reason="timeout"} > 0',
      check: (ctx) => atLeastOne(counter(ctx, METRIC_REL_RETRIES, (a) => a[ATTR_REL_RETRY_REASON] === 'timeout')),
    },
    {
      name: 'rel.fallbacks{rel.fallback.reason=~"retries_exhausted|timeout"} > 0',
      check: (ctx) =>
        atLeastOne(
          counter(ctx, METRIC_REL_FALLBACKS, (a) =>
            ['retries_exhausted', 'timeout'].includes(String(a[ATTR_REL_FALLBACK_REASON])),
          ),
        ),
    },
    {
      name: 'rel.errors{gen_ai.request.model="chat"} == 0 (the backup answers in time)',
      check: (ctx) => {
        const n = counter(ctx, METRIC_REL_ERRORS, (a) => a[ATTR_GEN_AI_REQUEST_MODEL] === 'chat');
        return { fired: n === 0, observed: String(n) };
      },
    },
  ],
};

const malformed: Drill = {
  name: 'malformed',
  title: 'Malformed structured output: answers that break the JSON schema',
  defaultRequests: 90,
  plan: (requests, seed) =>
    planDrill('malformed drill', 6, requests, seed, [], (random, hour) => {
      const r = random();
      const broken = hour >= 1;
      const fault: RequestFault | undefined = !broken
        ? undefined
        : r < 0.3
          ? { fault: { type: 'schema_violation' } }
          : r < 0.7
            ? { fault: { type: 'schema_violation' }, times: 1 }
            : undefined;
      return { feature: 'extract', kind: 'structured', ...(fault ? { fault } : {}) };
    }),
  signals: [
    {
      name: 'rel.guardrail.evaluations{rel.guardrail.name="structured-output",rel.guardrail.verdict="sanitize"} > 0 (re-asked and repaired)',
      check: (ctx) => atLeastOne(guardrail(ctx, 'structured-output', 'sanitize')),
    },
    {
      name: 'rel.guardrail.evaluations{rel.guardrail.name="structured-output",rel.guardrail.verdict="block"} > 0',
      check: (ctx) => atLeastOne(guardrail(ctx, 'structured-output', 'block')),
    },
    {
      name: 'rel.errors{error.type="malformed_output",rel.error.class="internal"} > 0',
      check: (ctx) =>
        atLeastOne(
          counter(
            ctx,
            METRIC_REL_ERRORS,
            (a) => a[ATTR_ERROR_TYPE] === 'malformed_output' && a[ATTR_REL_ERROR_CLASS] === 'internal',
          ),
        ),
    },
    {
      name: 'span event rel.guardrail.evaluated with rel.guardrail.verdict="block"',
      check: (ctx) => atLeastOne(spanVerdicts(ctx, 'structured-output', 'block')),
    },
  ],
};

const EMAIL = 'jane.doe@example.com';

const policy: Drill = {
  name: 'policy',
  title: 'Policy violation: prompt-injection attempts and PII in prompts',
  defaultRequests: 90,
  plan: (requests, seed) =>
    planDrill('policy drill', 6, requests, seed, [], (random, hour) => {
      const r = random();
      const kind: RequestKind = hour >= 1 && r < 0.35 ? 'injection' : r > 0.75 ? 'pii' : 'chat';
      return { feature: 'assistant', kind };
    }),
  signals: [
    {
      name: 'rel.guardrail.evaluations{rel.guardrail.name="injection",rel.guardrail.verdict="block"} > 0',
      check: (ctx) => atLeastOne(guardrail(ctx, 'injection', 'block')),
    },
    {
      name: 'rel.errors{rel.error.class="input_rejected",error.type="guardrail_blocked"} > 0',
      check: (ctx) =>
        atLeastOne(
          counter(
            ctx,
            METRIC_REL_ERRORS,
            (a) => a[ATTR_REL_ERROR_CLASS] === 'input_rejected' && a[ATTR_ERROR_TYPE] === 'guardrail_blocked',
          ),
        ),
    },
    {
      name: 'span event rel.guardrail.evaluated with rel.guardrail.name="injection", verdict "block"',
      check: (ctx) => atLeastOne(spanVerdicts(ctx, 'injection', 'block')),
    },
    {
      name: 'rel.guardrail.evaluations{rel.guardrail.name="pii",rel.guardrail.verdict="redact"} > 0',
      check: (ctx) => atLeastOne(guardrail(ctx, 'pii', 'redact')),
    },
    {
      name: 'the provider never received the e-mail address (tokenized upstream)',
      check: (ctx) => {
        const leaked = ctx.upstream.filter((a) =>
          a.messages.some((m) => typeof m.content === 'string' && m.content.includes(EMAIL)),
        ).length;
        return { fired: leaked === 0 && ctx.upstream.length > 0, observed: `${leaked} leaked` };
      },
    },
  ],
};

/** The four incident drills, by name. */
export const DRILLS: Readonly<Record<DrillName, Drill>> = { outage, latency, malformed, policy };

function guardrail(ctx: SignalContext, name: string, verdict: string): number {
  return counter(
    ctx,
    METRIC_REL_GUARDRAIL_EVALUATIONS,
    (a) => a[ATTR_REL_GUARDRAIL_NAME] === name && a[ATTR_REL_GUARDRAIL_VERDICT] === verdict,
  );
}

function spanVerdicts(ctx: SignalContext, name: string, verdict: string): number {
  return ctx.spans
    .flatMap((s) => s.events)
    .filter(
      (e) =>
        e.name === EVENT_REL_GUARDRAIL_EVALUATED &&
        e.attributes?.[ATTR_REL_GUARDRAIL_NAME] === name &&
        e.attributes?.[ATTR_REL_GUARDRAIL_VERDICT] === verdict,
    ).length;
}

function timeoutEvents(ctx: SignalContext, phase: string): number {
  return ctx.spans
    .flatMap((s) => s.events)
    .filter((e) => e.name === EVENT_REL_TIMEOUT && e.attributes?.[ATTR_REL_TIMEOUT_PHASE] === phase).length;
}

/** The metrics of a collection, flattened. */
export function metricsOf(resourceMetrics: ResourceMetrics): MetricData[] {
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}
