import type { GateVerdict } from './gate';
import { escapeMarkdownCell as cell, millis, percent, usd } from './report-format';
import type { RunResults } from './run-results';

/**
 * A markdown report: the gate verdict, per-task pass rate, latency and cost, then every failing
 * case with its first failure message. Suitable for a pull-request comment or a job summary.
 * @example await writeFile('report.md', markdownReport(results, verdict));
 */
export function markdownReport(results: RunResults, verdict?: GateVerdict): string {
  const out: string[] = [];
  out.push(`# rel-eval: ${cell(results.goldenSet)}`, '');
  out.push(
    `Target \`${cell(results.target)}\`, ${results.repeat} run(s) per case, started ${results.startedAt}, took ${millis(results.durationMs)}.`,
    '',
  );
  if (verdict) {
    out.push(verdict.pass ? '**Gate: PASS**' : '**Gate: FAIL** (a critical task regressed)', '');
  } else out.push('No baseline given: no gate.', '');
  const byTask = new Map(verdict?.tasks.map((t) => [t.task, t]));
  out.push('| task | critical | pass rate | passed/total | baseline | p-value | verdict | latency p50 / p95 | cost |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const t of results.tasks) {
    const v = byTask.get(t.name);
    out.push(
      `| ${cell(t.name)} | ${t.critical ? 'yes' : 'no'} | ${percent(t.passRate)} | ${t.passed}/${t.passed + t.failed} | ` +
        `${v?.baseline ? percent(v.baseline.rate) : '-'} | ${v && v.verdict !== 'new' ? v.pValue.toPrecision(3) : '-'} | ` +
        `${v ? v.verdict : '-'} | ${millis(t.latencyMs.p50)} / ${millis(t.latencyMs.p95)} | ${usd(t.costUsd?.total)} |`,
    );
  }
  const failing = results.tasks.flatMap((t) => t.cases.filter((c) => c.failed > 0).map((c) => ({ t, c })));
  out.push('', '## Failing cases', '');
  if (failing.length === 0) out.push('None.');
  else {
    out.push('| task | case | passed/total | first failure |', '| --- | --- | --- | --- |');
    for (const { t, c } of failing) {
      const first = c.runs.find((r) => !r.pass)?.failures[0] ?? '';
      out.push(`| ${cell(t.name)} | ${cell(c.id)} | ${c.passed}/${c.passed + c.failed} | ${cell(first)} |`);
    }
  }
  const flagged = verdict?.tasks.filter((t) => t.droppedCases.length > 0 && t.verdict !== 'pass') ?? [];
  if (flagged.length) {
    out.push('', '## Regressed cases', '');
    for (const t of flagged) {
      const cases = t.droppedCases.map((c) => `${cell(c.id)} (${percent(c.baselineRate)} → ${percent(c.currentRate)})`);
      out.push(`- **${cell(t.task)}** (${t.verdict}): ${cases.join(', ')}`);
    }
  }
  return `${out.join('\n')}\n`;
}
