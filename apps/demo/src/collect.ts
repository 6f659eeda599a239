import type { DataPoint, Histogram, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_REL_COST_TOTAL,
  ATTR_REL_DEGRADATION_MODE,
  ATTR_REL_ERROR_CLASS,
  ATTR_REL_FALLBACK_REASON,
  ATTR_REL_GUARDRAIL_NAME,
  ATTR_REL_GUARDRAIL_VERDICT,
  ATTR_REL_ORG_ID,
  ATTR_REL_REQUEST_ID,
  ATTR_REL_RETRY_REASON,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_REL_DEGRADATIONS,
  METRIC_REL_ERRORS,
  METRIC_REL_FALLBACKS,
  METRIC_REL_GUARDRAIL_EVALUATIONS,
  METRIC_REL_RETRIES,
  UNKNOWN_MODEL,
  latencyQuantiles,
} from '@rel/telemetry';
import type { EventLog } from './event-log';
import type { Incident } from './scenario';
import type { RequestOutcome } from './traffic';

/** p50 / p95 of one model, in ms, from the duration histogram. */
export interface ModelLatency {
  readonly model: string;
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** Tokens and spend of one org over the run. */
export interface OrgUsage {
  readonly org: string;
  readonly tier: string;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  /** The org's daily spend ceiling, when it has one. */
  readonly budgetUsd: number | undefined;
}

/** One request on the report's time axis. */
export interface TimelinePoint {
  /** Simulated hour the request was planned at. */
  readonly hour: number;
  readonly latencyMs: number;
  /** Which route answered: the upstream model, `rel-degraded`, or `error`. */
  readonly route: string;
  readonly ok: boolean;
}

/** Everything the summary table and the report show. */
export interface DemoSummary {
  readonly scenario: string;
  readonly seed: number;
  readonly hours: number;
  readonly wallMs: number;
  readonly requests: number;
  readonly successes: number;
  readonly degraded: number;
  readonly fallbacksByReason: Readonly<Record<string, number>>;
  readonly retriesByReason: Readonly<Record<string, number>>;
  readonly errorsByClass: Readonly<Record<string, number>>;
  /** `name:verdict` → count, verdicts other than `pass`. */
  readonly guardrailVerdicts: Readonly<Record<string, number>>;
  /** `rel.timeout` events by phase. */
  readonly timeoutsByPhase: Readonly<Record<string, number>>;
  readonly latency: readonly ModelLatency[];
  readonly orgs: readonly OrgUsage[];
  readonly breakerTransitions: readonly { atMs: number; target: string; from: string; to: string; reason: string }[];
  readonly budgetAlerts: readonly {
    atMs: number;
    scope: string;
    thresholdPct: number;
    spentUsd: number;
    limitUsd: number;
  }[];
  /** Request spans carrying `rel.fallback.reason`, by reason. */
  readonly spanFallbackReasons: Readonly<Record<string, number>>;
  readonly incidents: readonly Incident[];
  readonly timeline: readonly TimelinePoint[];
}

/** What `collectSummary` reads. */
export interface CollectInput {
  readonly scenario: string;
  readonly seed: number;
  readonly hours: number;
  readonly hourMs: number;
  readonly wallMs: number;
  readonly metrics: ResourceMetrics;
  readonly spans: readonly ReadableSpan[];
  readonly events: EventLog;
  readonly outcomes: readonly RequestOutcome[];
  /** Planned time of each request, by index. */
  readonly plannedAtMs: (index: number) => number;
  readonly incidents: readonly Incident[];
  readonly orgs: readonly { id: string; tier: string; budgetUsd: number | undefined }[];
}

/**
 * Builds the summary from the OpenTelemetry data: counts and latency quantiles from the metrics
 * (the duration histogram for p50/p95 per answering model), tokens and cost per org from the
 * request spans, breaker transitions and budget alerts from the event hub, and the time axis of
 * the charts from what each client saw.
 * @example const summary = collectSummary({ metrics: await otel.metrics(), spans: await otel.spans(), ... });
 */
export function collectSummary(input: CollectInput): DemoSummary {
  const metrics = input.metrics.scopeMetrics.flatMap((s) => s.metrics);
  const duration = find(metrics, METRIC_GEN_AI_CLIENT_OPERATION_DURATION);
  const histogramPoints = (duration?.dataPoints ?? []) as DataPoint<unknown>[] as DataPoint<Histogram>[];
  const requests = histogramPoints.reduce((n, p) => n + p.value.count, 0);
  const errorsByClass = sumBy(find(metrics, METRIC_REL_ERRORS), (a) => str(a[ATTR_REL_ERROR_CLASS]));
  const errors = Object.values(errorsByClass).reduce((a, b) => a + b, 0);
  const latency = latencyQuantiles(
    histogramPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
    [0.5, 0.95],
    { groupBy: ATTR_GEN_AI_RESPONSE_MODEL },
  )
    .map((q) => ({
      model: q.model === UNKNOWN_MODEL ? '(failed)' : q.model,
      count: q.count,
      p50Ms: Math.round((q.quantiles.p50 ?? 0) * 1000),
      p95Ms: Math.round((q.quantiles.p95 ?? 0) * 1000),
    }))
    .sort((a, b) => b.count - a.count);

  const requestSpans = input.spans.filter(
    (s) => s.attributes[ATTR_REL_REQUEST_ID] !== undefined && s.name.startsWith('rel '),
  );
  const perOrg = new Map<string, { requests: number; inputTokens: number; outputTokens: number; costUsd: number }>();
  const spanFallbackReasons: Record<string, number> = {};
  for (const span of requestSpans) {
    const a = span.attributes;
    const org = str(a[ATTR_REL_ORG_ID]);
    const o = perOrg.get(org) ?? { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    o.requests += 1;
    o.inputTokens += num(a[ATTR_GEN_AI_USAGE_INPUT_TOKENS]);
    o.outputTokens += num(a[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]);
    o.costUsd += num(a[ATTR_REL_COST_TOTAL]);
    perOrg.set(org, o);
    const reason = a[ATTR_REL_FALLBACK_REASON];
    if (typeof reason === 'string') spanFallbackReasons[reason] = (spanFallbackReasons[reason] ?? 0) + 1;
  }
  const orgs = input.orgs.map((org) => ({
    org: org.id,
    tier: org.tier,
    budgetUsd: org.budgetUsd,
    ...(perOrg.get(org.id) ?? { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }),
  }));

  const guardrailVerdicts = sumBy(find(metrics, METRIC_REL_GUARDRAIL_EVALUATIONS), (a) =>
    a[ATTR_REL_GUARDRAIL_VERDICT] === 'pass'
      ? undefined
      : `${str(a[ATTR_REL_GUARDRAIL_NAME])}:${str(a[ATTR_REL_GUARDRAIL_VERDICT])}`,
  );
  const timeoutsByPhase: Record<string, number> = {};
  for (const e of input.events.of('timeout'))
    timeoutsByPhase[e.payload.phase] = (timeoutsByPhase[e.payload.phase] ?? 0) + 1;
  const degradations = sumBy(find(metrics, METRIC_REL_DEGRADATIONS), (a) => str(a[ATTR_REL_DEGRADATION_MODE]));

  return {
    scenario: input.scenario,
    seed: input.seed,
    hours: input.hours,
    wallMs: input.wallMs,
    requests,
    successes: requests - errors,
    degraded: degradations.degraded ?? 0,
    fallbacksByReason: sumBy(find(metrics, METRIC_REL_FALLBACKS), (a) => str(a[ATTR_REL_FALLBACK_REASON])),
    retriesByReason: sumBy(find(metrics, METRIC_REL_RETRIES), (a) => str(a[ATTR_REL_RETRY_REASON])),
    errorsByClass,
    guardrailVerdicts,
    timeoutsByPhase,
    latency,
    orgs,
    breakerTransitions: input.events.of('breaker-state').map((e) => ({ atMs: e.atMs, ...e.payload })),
    budgetAlerts: input.events.of('budget-alert').map((e) => ({
      atMs: e.atMs,
      scope: e.payload.scope,
      thresholdPct: e.payload.thresholdPct,
      spentUsd: e.payload.spentUsd,
      limitUsd: e.payload.limitUsd,
    })),
    spanFallbackReasons,
    incidents: input.incidents,
    timeline: input.outcomes
      .filter((o) => o !== undefined)
      .map((o) => ({
        hour: input.plannedAtMs(o.index) / input.hourMs,
        latencyMs: o.latencyMs,
        route: o.ok ? baseModel(o.model ?? 'unknown') : 'error',
        ok: o.ok,
      })),
  };
}

/** The total of a counter metric per attribute key (points whose key is `undefined` are left out). */
export function sumBy(
  metric: MetricData | undefined,
  key: (attributes: Record<string, unknown>) => string | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of (metric?.dataPoints ?? []) as DataPoint<unknown>[]) {
    const k = key(p.attributes);
    if (k === undefined || typeof p.value !== 'number') continue;
    out[k] = (out[k] ?? 0) + p.value;
  }
  return out;
}

/** A metric of a collection, by name. */
export function find(metrics: readonly MetricData[], name: string): MetricData | undefined {
  return metrics.find((m) => m.descriptor.name === name);
}

/** `gpt-primary-2024-08-06` → `gpt-primary`: the route a version belongs to. */
export function baseModel(model: string): string {
  return model.replace(/-\d{4}-\d{2}-\d{2}$/, '');
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : String(v ?? '');
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
