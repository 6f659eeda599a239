import { describe, expect, it } from 'vitest';
import { baselineFrom } from './baseline';
import { compareWithBaseline } from './gate';
import { escapeHtml } from './report-format';
import { htmlReport } from './report-html';
import { markdownReport } from './report-markdown';
import { resultsOf } from './test-results';

const base = resultsOf([
  { name: 'support', critical: true, cases: { a: [4, 0], b: [4, 0] } },
  { name: 'summary', critical: false, cases: { a: [2, 2] } },
]);
const worse = resultsOf([
  { name: 'support', critical: true, cases: { a: [4, 0], b: [0, 4] } },
  { name: 'summary', critical: false, cases: { a: [2, 2] } },
]);
const hostile = {
  ...worse,
  goldenSet: '<script>alert(1)</script>',
  target: 'http://x/"><img src=x>',
  tasks: worse.tasks.map((t) => ({
    ...t,
    cases: t.cases.map((c) => ({
      ...c,
      runs: c.runs.map((r) => ({ ...r, failures: ['<b onmouseover="x">|pipe|</b>\nline'] })),
    })),
  })),
};
const verdict = compareWithBaseline(worse, baselineFrom(base, 'now'));

describe('reports', () => {
  it('markdown shows the verdict, per-task rates, latency, cost and the regressed cases', () => {
    const md = markdownReport(worse, verdict);
    expect(md).toContain('**Gate: FAIL**');
    expect(md).toMatch(
      /\| support \| yes \| 50\.0% \| 4\/8 \| 100\.0% \| [0-9.e-]+ \| regressed \| 10 ms \/ 20 ms \| \$0\.00120 \|/,
    );
    expect(md).toContain('- **support** (regressed): b (100.0% → 0.0%)');
    expect(md).toContain('| summary | a | 2/4 | output does not match /^[A-Z]/ |');
    expect(markdownReport(base)).toContain('No baseline given: no gate.');
  });

  it('markdown escapes pipes, HTML and line breaks in cells', () => {
    const md = markdownReport(hostile, verdict);
    expect(md).toContain('&lt;b onmouseover="x"&gt;\\|pipe\\|&lt;/b&gt; line');
    expect(md).not.toContain('<script>');
  });

  it('HTML is self-contained, with an SVG bar per task, and escapes all text', () => {
    const html = htmlReport(hostile, verdict);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc="|\shref="|@import|url\(/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;b onmouseover=&quot;x&quot;&gt;');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('aria-label="50.0% passed"');
    expect(html).toContain('Gate: FAIL');
    expect(html).toMatch(/<td class="fail">regressed<\/td>/);
  });

  it('escapeHtml escapes the five special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});
