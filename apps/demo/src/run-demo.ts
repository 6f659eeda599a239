import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoArgs } from './cli';
import { type DemoSummary, collectSummary } from './collect';
import { DEFAULT_HOUR_MS, type Script, planDay } from './day-plan';
import { DRILLS, metricsOf } from './drills';
import { Progress, type ProgressCounts, type ProgressSink } from './progress';
import { reportHtml } from './report-html';
import { ORGS, budgetOf, demoConfig } from './scenario';
import { startStack } from './stack';
import { driveTraffic } from './traffic';

/** Options of `runDemo`: the parsed flags, plus knobs for tests. */
export interface RunOptions extends Omit<DemoArgs, 'help'> {
  /** Progress output; `false` for none. Default `process.stderr`. */
  readonly progress?: ProgressSink | false;
  /** Environment for the OTEL_* variables. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Real ms per simulated hour of the day (drills have their own). Default 500. */
  readonly hourMs?: number;
  /** Requests in flight at most. Default 12. */
  readonly concurrency?: number;
}

/** A drill signal and whether it fired. */
export interface SignalResult {
  readonly name: string;
  readonly fired: boolean;
  readonly observed: string;
}

/** What a run produced. */
export interface RunResult {
  readonly summary: DemoSummary;
  readonly reportPath: string;
  /** A few of the per-request JSON log lines, one of each kind of outcome. */
  readonly logSample: readonly string[];
  /** For a drill: each signal its playbook names, and whether it fired. */
  readonly signals: readonly SignalResult[];
}

/** The default number of requests of the whole day. */
export const DAY_REQUESTS = 500;

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Runs the scripted day or one drill end to end: starts the fake provider and the gateway, plays
 * the traffic through the `openai` client, reads the OpenTelemetry data into a summary, checks a
 * drill's signals and writes the HTML report.
 * @example const { summary, reportPath } = await runDemo({ scenario: 'day', requests: 200, seed: 7, out: undefined });
 */
export async function runDemo(options: RunOptions): Promise<RunResult> {
  const drill = options.scenario === 'day' ? undefined : DRILLS[options.scenario];
  const requests = options.requests ?? drill?.defaultRequests ?? DAY_REQUESTS;
  const script: Script = drill
    ? drill.plan(requests, options.seed)
    : planDay({ requests, seed: options.seed, hourMs: options.hourMs ?? DEFAULT_HOUR_MS });
  const stack = await startStack({
    requests,
    hourMs: script.hourMs,
    seed: options.seed,
    ...(options.env ? { env: options.env } : {}),
  });
  try {
    const sink = options.progress === undefined ? process.stderr : options.progress;
    const progress = sink ? new Progress(sink, requests, script.incidents) : undefined;
    const counts: ProgressCounts = { done: 0, ok: 0, errors: 0, fallbacks: 0, degraded: 0 };
    const started = performance.now();
    const outcomes = await driveTraffic({
      script,
      gatewayURL: stack.gateway.url,
      faults: stack.faults,
      concurrency: options.concurrency ?? 12,
      onOutcome: (o) => {
        const hour = (script.requests[o.index]?.atMs ?? 0) / script.hourMs;
        counts.done += 1;
        if (o.ok) counts.ok += 1;
        else counts.errors += 1;
        if (o.model === 'rel-degraded') counts.degraded += 1;
        counts.fallbacks = stack.events.count('fallback');
        progress?.update(hour, counts);
      },
    });
    progress?.done();
    const wallMs = performance.now() - started;
    const resourceMetrics = await stack.otel.metrics();
    const spans = await stack.otel.spans();
    const configInput = demoConfig('http://127.0.0.1/v1', { requests, hourMs: script.hourMs });
    const summary = collectSummary({
      scenario: drill ? `${drill.name} drill` : 'a scripted day',
      seed: options.seed,
      hours: script.hours,
      hourMs: script.hourMs,
      wallMs,
      metrics: resourceMetrics,
      spans,
      events: stack.events,
      outcomes,
      plannedAtMs: (i) => script.requests[i]?.atMs ?? 0,
      incidents: script.incidents,
      orgs: ORGS.map((o) => ({ id: o.id, tier: o.tier, budgetUsd: budgetOf(configInput, o.id) })),
    });
    const metrics = metricsOf(resourceMetrics);
    const signals = (drill?.signals ?? []).map((signal) => ({
      name: signal.name,
      ...signal.check({ metrics, spans, events: stack.events, upstream: stack.fake.attempts }),
    }));
    const reportPath = resolve(options.out ?? resolve(HERE, '..', 'out', `report-${timestamp()}.html`));
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, reportHtml(summary));
    return { summary, reportPath, logSample: sampleLogLines(stack.logLines), signals };
  } finally {
    await stack.close();
  }
}

/**
 * One log line of each kind of outcome (plain success, fallback, degraded, each error class), with
 * `ts`, `service`, `trace_id` and null fields left out for the terminal.
 */
export function sampleLogLines(lines: readonly string[], max = 6): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const kind = rec['rel.error.class']
      ? `error:${String(rec['rel.error.class'])}`
      : rec['rel.degraded']
        ? 'degraded'
        : rec['rel.fallback.reason']
          ? 'fallback'
          : 'ok';
    if (seen.has(kind)) continue;
    seen.add(kind);
    const { ts: _ts, service: _service, trace_id: _trace, ...fields } = rec;
    out.push(JSON.stringify(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null))));
    if (out.length >= max) break;
  }
  return out;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
