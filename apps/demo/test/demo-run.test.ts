import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/run-demo';

describe('the scripted day', () => {
  it('shows fallbacks, typed errors (input_rejected, quota_exceeded), p50/p95 per model, budgets and breakers', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'rel-demo-')), 'report.html');
    const { summary, reportPath, logSample } = await runDemo({
      scenario: 'day',
      requests: 200,
      seed: 7,
      out,
      hourMs: 150,
      progress: false,
      env: {},
    });
    expect(reportPath).toBe(out);
    expect(summary.requests).toBe(200);
    expect(summary.successes).toBeGreaterThan(100);
    const fallbacks = Object.values(summary.fallbacksByReason).reduce((a, b) => a + b, 0);
    expect(fallbacks).toBeGreaterThan(0);
    expect(summary.errorsByClass.input_rejected).toBeGreaterThan(0);
    expect(summary.errorsByClass.quota_exceeded).toBeGreaterThan(0);
    const models = summary.latency.map((l) => l.model);
    expect(models).toEqual(expect.arrayContaining(['gpt-primary-2024-08-06', 'gpt-backup-2024-08-06']));
    for (const l of summary.latency) expect(l.p95Ms).toBeGreaterThanOrEqual(l.p50Ms);
    expect(summary.degraded).toBeGreaterThan(0);
    expect(summary.breakerTransitions.some((b) => b.to === 'open')).toBe(true);
    expect(summary.budgetAlerts.map((a) => a.thresholdPct)).toContain(100);
    const umbrella = summary.orgs.find((o) => o.org === 'umbrella');
    expect(umbrella?.costUsd).toBeGreaterThan(0);
    expect(umbrella?.costUsd).toBeLessThanOrEqual((umbrella?.budgetUsd ?? 0) * 1.05);
    // The per-request log lines carry the required fields, and never a prompt.
    expect(logSample.length).toBeGreaterThan(3);
    for (const line of logSample) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      for (const field of [
        'rel.request.id',
        'rel.org.id',
        'gen_ai.request.model',
        'rel.latency_ms',
        'rel.attempt.count',
      ])
        expect(rec).toHaveProperty([field]);
      expect(line).not.toMatch(/jane\.doe|Ignore all previous/);
    }
    const html = readFileSync(reportPath, 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
