import type { DemoSummary, TimelinePoint } from './collect';
import { summaryTable } from './summary-table';

const W = 860;
const H = 260;
const M = { top: 16, right: 16, bottom: 34, left: 56 } as const;
const ROUTE_COLORS: Readonly<Record<string, string>> = {
  'gpt-primary': '#2f6fde',
  'gpt-backup': '#f28e2b',
  'gpt-struct': '#8a5cc7',
  'rel-degraded': '#9aa0a6',
  error: '#d62728',
};

/** Escapes text for HTML and SVG: every `&`, `<`, `>`, `"` and `'`. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The run as one self-contained HTML page: inline SVG charts (latency over time with the incidents
 * shaded, requests by route over time, cost per org against budget) and the summary table. No
 * script, font or stylesheet is fetched: the file opens offline.
 * @example writeFileSync('report.html', reportHtml(summary));
 */
export function reportHtml(s: DemoSummary): string {
  const title = `rel demo: ${s.scenario} (seed ${s.seed})`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px auto; max-width: 920px; color: #1f2328; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
svg { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
svg text { font: 11px system-ui, sans-serif; fill: #57606a; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
pre { background: #f6f8fa; padding: 12px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p>${s.requests} requests over ${s.hours} simulated hours, played in ${(s.wallMs / 1000).toFixed(1)} s through the rel gateway with the official <code>openai</code> client. Shaded bands are the scripted incidents.</p>
<h2>Latency over time</h2>
${legend([
  ['#1f2328', 'p95 per slot'],
  ['#2f6fde', 'p50 per slot'],
  ['#c9d1d9', 'one request'],
  ['#d62728', 'failed request'],
])}
${latencyChart(s)}
<h2>Requests by route over time</h2>
${legend(routesOf(s.timeline).map((r) => [ROUTE_COLORS[r] ?? '#666', r] as const))}
${routesChart(s)}
<h2>Cost per org against budget</h2>
${legend([
  ['#2f6fde', 'spent'],
  ['#d62728', 'daily budget'],
])}
${costChart(s)}
<h2>Summary</h2>
<pre>${esc(summaryTable(s))}</pre>
</body>
</html>
`;
}

function legend(items: readonly (readonly [string, string])[]): string {
  return `<div class="legend">${items.map(([c, label]) => `<span><i style="background:${c}"></i>${esc(label)}</span>`).join('')}</div>`;
}

function svg(name: string, label: string, body: string, height = H): string {
  return `<svg data-chart="${esc(name)}" role="img" aria-label="${esc(label)}" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

/** Slots of the time axis: about 8 requests each, between 8 and 48 slots. */
function slotsOf(s: DemoSummary): number {
  return Math.min(48, Math.max(8, Math.ceil(s.timeline.length / 8)));
}

function xScale(hours: number) {
  const plot = W - M.left - M.right;
  return (hour: number) => M.left + (plot * hour) / hours;
}

function hourAxis(hours: number, x: (h: number) => number, height: number): string {
  const step = hours > 12 ? 3 : 1;
  let out = `<line x1="${M.left}" y1="${height - M.bottom}" x2="${W - M.right}" y2="${height - M.bottom}" stroke="#8c959f"/>`;
  for (let h = 0; h <= hours; h += step) {
    out += `<text x="${x(h).toFixed(1)}" y="${height - M.bottom + 16}" text-anchor="middle">${String(h).padStart(2, '0')}:00</text>`;
  }
  return out;
}

function incidentBands(s: DemoSummary, x: (h: number) => number, height: number): string {
  return s.incidents
    .map(
      (i) =>
        `<rect class="incident" x="${x(i.fromHour).toFixed(1)}" y="${M.top}" width="${(x(i.toHour) - x(i.fromHour)).toFixed(1)}" height="${height - M.top - M.bottom}" fill="#fde2e1" opacity="0.7"/>` +
        `<text x="${(x(i.fromHour) + 3).toFixed(1)}" y="${M.top + 12}" fill="#a40e26">${esc(i.label)}</text>`,
    )
    .join('');
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function latencyChart(s: DemoSummary): string {
  const x = xScale(s.hours);
  const slots = slotsOf(s);
  const width = s.hours / slots;
  const buckets: number[][] = Array.from({ length: slots }, () => []);
  for (const p of s.timeline) buckets[Math.min(slots - 1, Math.floor(p.hour / width))]?.push(p.latencyMs);
  const stats = buckets.map((b, i) => {
    const sorted = [...b].sort((a, c) => a - c);
    return { hour: (i + 0.5) * width, n: b.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
  });
  const top = Math.max(50, ...stats.map((st) => st.p95)) * 1.15;
  const plotH = H - M.top - M.bottom;
  const y = (ms: number) => M.top + plotH - (plotH * Math.min(ms, top)) / top;
  const line = (key: 'p50' | 'p95') =>
    stats
      .filter((st) => st.n > 0)
      .map((st, i) => `${i === 0 ? 'M' : 'L'}${x(st.hour).toFixed(1)},${y(st[key]).toFixed(1)}`)
      .join(' ');
  let ticks = '';
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    ticks += `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eaeef2"/><text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)} ms</text>`;
  }
  const dots = s.timeline
    .map(
      (p: TimelinePoint) =>
        `<circle cx="${x(p.hour).toFixed(1)}" cy="${y(p.latencyMs).toFixed(1)}" r="1.8" fill="${p.ok ? '#c9d1d9' : '#d62728'}"/>`,
    )
    .join('');
  return svg(
    'latency',
    'Latency over time',
    incidentBands(s, x, H) +
      ticks +
      dots +
      `<path class="series" d="${line('p50')}" fill="none" stroke="#2f6fde" stroke-width="2"/>` +
      `<path class="series" d="${line('p95')}" fill="none" stroke="#1f2328" stroke-width="2"/>` +
      hourAxis(s.hours, x, H),
  );
}

function routesOf(timeline: readonly TimelinePoint[]): string[] {
  const order = Object.keys(ROUTE_COLORS);
  const seen = [...new Set(timeline.map((p) => p.route))];
  return seen.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
}

function routesChart(s: DemoSummary): string {
  const x = xScale(s.hours);
  const slots = slotsOf(s);
  const width = s.hours / slots;
  const routes = routesOf(s.timeline);
  const counts = Array.from({ length: slots }, () => new Map<string, number>());
  for (const p of s.timeline) {
    const m = counts[Math.min(slots - 1, Math.floor(p.hour / width))];
    m?.set(p.route, (m.get(p.route) ?? 0) + 1);
  }
  const top = Math.max(1, ...counts.map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
  const plotH = H - M.top - M.bottom;
  const barW = Math.max(1, x(width) - x(0) - 2);
  let bars = '';
  counts.forEach((m, i) => {
    let yTop = H - M.bottom;
    for (const route of routes) {
      const n = m.get(route) ?? 0;
      if (n === 0) continue;
      const h = (plotH * n) / top;
      yTop -= h;
      bars += `<rect class="bar" x="${(x(i * width) + 1).toFixed(1)}" y="${yTop.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${ROUTE_COLORS[route] ?? '#666'}"><title>${esc(`${route}: ${n}`)}</title></rect>`;
    }
  });
  const axis = `<text x="${M.left - 6}" y="${M.top + 10}" text-anchor="end">${top}</text><text x="${M.left - 6}" y="${H - M.bottom}" text-anchor="end">0</text>`;
  return svg('routes', 'Requests by route over time', incidentBands(s, x, H) + bars + axis + hourAxis(s.hours, x, H));
}

function costChart(s: DemoSummary): string {
  const rowH = 34;
  const height = M.top + M.bottom + rowH * Math.max(1, s.orgs.length);
  const left = 150;
  const plotW = W - left - 120;
  const top = Math.max(
    1e-9,
    ...s.orgs.map((o) =>
      Math.max(o.costUsd, o.budgetUsd !== undefined && o.budgetUsd < o.costUsd * 20 ? o.budgetUsd : 0),
    ),
  );
  const x = (usd: number) => left + (plotW * Math.min(usd, top * 1.05)) / (top * 1.05);
  let body = '';
  s.orgs.forEach((o, i) => {
    const yy = M.top + i * rowH;
    body += `<text x="${left - 8}" y="${yy + 19}" text-anchor="end">${esc(`${o.org} (${o.tier})`)}</text>`;
    body += `<rect class="bar" x="${left}" y="${yy + 6}" width="${Math.max(2, x(o.costUsd) - left).toFixed(1)}" height="${rowH - 14}" fill="#2f6fde"/>`;
    const label =
      o.budgetUsd === undefined
        ? `$${o.costUsd.toFixed(4)}, no ceiling`
        : `$${o.costUsd.toFixed(4)} of $${o.budgetUsd.toFixed(4)}`;
    if (o.budgetUsd !== undefined && o.budgetUsd < o.costUsd * 20) {
      body += `<line class="budget" x1="${x(o.budgetUsd).toFixed(1)}" x2="${x(o.budgetUsd).toFixed(1)}" y1="${yy + 2}" y2="${yy + rowH - 4}" stroke="#d62728" stroke-width="3"/>`;
    }
    body += `<text x="${(Math.max(x(o.costUsd), o.budgetUsd !== undefined && o.budgetUsd < o.costUsd * 20 ? x(o.budgetUsd) : 0) + 8).toFixed(1)}" y="${yy + 19}">${esc(label)}</text>`;
  });
  return svg('cost', 'Cost per org against budget', body, height);
}
