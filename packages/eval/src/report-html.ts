import type { GateVerdict } from './gate';
import { escapeHtml as esc, millis, percent, usd } from './report-format';
import type { RunResults, TaskResult } from './run-results';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;max-width:72rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.pass{color:#1a7f37}.fail{color:#cf222e}.warn{color:#9a6700}
.verdict{font-size:1.2rem;font-weight:600;padding:.5rem .8rem;border-radius:6px;display:inline-block}
.verdict.pass{background:#dafbe1}.verdict.fail{background:#ffebe9}.verdict.none{background:#f6f8fa}
code{background:#f6f8fa;padding:0 .25rem;border-radius:4px}td.msg{font-family:ui-monospace,monospace;font-size:12px}
`;

/**
 * A self-contained HTML report (inline CSS, inline SVG bars, no scripts, no network) with the
 * gate verdict, per-task pass rates, latency and cost, and the failing cases. All text is escaped.
 * @example await writeFile('report.html', htmlReport(results, verdict));
 */
export function htmlReport(results: RunResults, verdict?: GateVerdict): string {
  const byTask = new Map(verdict?.tasks.map((t) => [t.task, t]));
  const banner = verdict
    ? `<p class="verdict ${verdict.pass ? 'pass' : 'fail'}">Gate: ${verdict.pass ? 'PASS' : 'FAIL: a critical task regressed'}</p>`
    : '<p class="verdict none">No baseline given: no gate</p>';
  const rows = results.tasks
    .map((t) => {
      const v = byTask.get(t.name);
      const cls = v?.verdict === 'regressed' ? 'fail' : v?.verdict === 'warning' ? 'warn' : 'pass';
      return (
        `<tr><td>${esc(t.name)}</td><td>${t.critical ? 'yes' : 'no'}</td><td>${bar(t, v?.baseline?.rate)}</td>` +
        `<td>${t.passed}/${t.passed + t.failed}</td><td>${v?.baseline ? percent(v.baseline.rate) : '-'}</td>` +
        `<td>${v && v.verdict !== 'new' ? v.pValue.toPrecision(3) : '-'}</td><td class="${cls}">${esc(v?.verdict ?? '-')}</td>` +
        `<td>${millis(t.latencyMs.p50)} / ${millis(t.latencyMs.p95)}</td><td>${esc(usd(t.costUsd?.total))}</td></tr>`
      );
    })
    .join('\n');
  const failing = results.tasks.flatMap((t) =>
    t.cases
      .filter((c) => c.failed > 0)
      .map((c) => {
        const first = c.runs.find((r) => !r.pass)?.failures[0] ?? '';
        const dropped = byTask.get(t.name)?.droppedCases.some((d) => d.id === c.id);
        return (
          `<tr><td>${esc(t.name)}</td><td>${esc(c.id)}${dropped ? ' <span class="fail">(regressed)</span>' : ''}</td>` +
          `<td>${c.passed}/${c.passed + c.failed}</td><td class="msg">${esc(first)}</td></tr>`
        );
      }),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rel-eval: ${esc(results.goldenSet)}</title><style>${CSS}</style></head>
<body>
<h1>rel-eval: ${esc(results.goldenSet)}</h1>
<p>Target <code>${esc(results.target)}</code>, ${results.repeat} run(s) per case, started ${esc(results.startedAt)}, took ${millis(results.durationMs)}.</p>
${banner}
<h2>Tasks</h2>
<table><thead><tr><th>task</th><th>critical</th><th>pass rate</th><th>passed/total</th><th>baseline</th><th>p-value</th><th>verdict</th><th>latency p50 / p95</th><th>cost</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Failing cases</h2>
${
  failing.length
    ? `<table><thead><tr><th>task</th><th>case</th><th>passed/total</th><th>first failure</th></tr></thead><tbody>\n${failing.join('\n')}\n</tbody></table>`
    : '<p>None.</p>'
}
</body></html>
`;
}

/** A 160×14 SVG bar of the pass rate, with a tick at the baseline rate. */
function bar(t: TaskResult, baseline: number | undefined): string {
  const w = 160;
  const filled = Math.round(t.passRate * w);
  const color = t.passRate >= 0.9 ? '#2da44e' : t.passRate >= 0.6 ? '#d4a72c' : '#cf222e';
  const tick =
    baseline === undefined
      ? ''
      : `<line x1="${Math.round(baseline * w)}" x2="${Math.round(baseline * w)}" y1="0" y2="14" stroke="#1f2328" stroke-width="2"/>`;
  return (
    `<svg width="${w}" height="14" viewBox="0 0 ${w} 14" role="img" aria-label="${esc(percent(t.passRate))} passed">` +
    `<rect width="${w}" height="14" fill="#eaeef2"/><rect width="${filled}" height="14" fill="${color}"/>${tick}</svg> ${percent(t.passRate)}`
  );
}
