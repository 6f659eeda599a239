import type { DemoSummary } from './collect';

/**
 * The end-of-run summary as plain text for a terminal: requests, successes, fallbacks by reason,
 * errors by user-visible class, p50/p95 per model, tokens and cost per org, breaker transitions
 * and budget alerts.
 * @example process.stdout.write(summaryTable(summary));
 */
export function summaryTable(s: DemoSummary): string {
  const lines: string[] = [];
  const pct = (n: number) => (s.requests > 0 ? `${((100 * n) / s.requests).toFixed(1)}%` : '-');
  lines.push(
    `rel demo: ${s.scenario}, seed ${s.seed}, ${s.hours} simulated hours in ${(s.wallMs / 1000).toFixed(1)} s`,
    '',
    table(
      ['requests', 'successes', 'of which degraded', 'errors'],
      [
        [
          String(s.requests),
          `${s.successes} (${pct(s.successes)})`,
          String(s.degraded),
          String(s.requests - s.successes),
        ],
      ],
    ),
    '',
    section('fallbacks by reason', counts(s.fallbacksByReason)),
    section('retries by reason', counts(s.retriesByReason)),
    section('errors by class', counts(s.errorsByClass)),
    section('guardrail verdicts', counts(s.guardrailVerdicts)),
    section(
      'latency per model (gen_ai.client.operation.duration)',
      table(
        ['model', 'requests', 'p50', 'p95'],
        s.latency.map((l) => [l.model, String(l.count), `${l.p50Ms} ms`, `${l.p95Ms} ms`]),
      ),
    ),
    section(
      'tokens and cost per org',
      table(
        ['org', 'tier', 'requests', 'input tok', 'output tok', 'cost USD', 'budget/day'],
        s.orgs.map((o) => [
          o.org,
          o.tier,
          String(o.requests),
          String(o.inputTokens),
          String(o.outputTokens),
          o.costUsd.toFixed(4),
          o.budgetUsd === undefined
            ? '-'
            : `${o.budgetUsd.toFixed(4)} (${Math.round((100 * o.costUsd) / o.budgetUsd)}%)`,
        ]),
      ),
    ),
    section(
      'breaker transitions',
      s.breakerTransitions.length === 0
        ? '  (none)'
        : s.breakerTransitions
            .map((b) => `  ${clock(b.atMs)}  ${b.target}: ${b.from} -> ${b.to} (${b.reason})`)
            .join('\n'),
    ),
    section(
      'budget alerts fired',
      s.budgetAlerts.length === 0
        ? '  (none)'
        : s.budgetAlerts
            .map(
              (a) =>
                `  ${clock(a.atMs)}  ${a.scope} passed ${a.thresholdPct}% ($${a.spentUsd.toFixed(4)} of $${a.limitUsd.toFixed(4)})`,
            )
            .join('\n'),
    ),
  );
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Left-aligned first column, right-aligned others, two spaces between, a rule under the header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '  (none)';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [fmt(header), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(fmt)].join('\n');
}

function section(title: string, body: string): string {
  return `${title}\n${body}\n`;
}

function counts(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '  (none)';
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, n]) => `  ${k.padEnd(width)}  ${String(n).padStart(5)}`).join('\n');
}

function clock(ms: number): string {
  return `+${(ms / 1000).toFixed(1).padStart(5)} s`;
}
