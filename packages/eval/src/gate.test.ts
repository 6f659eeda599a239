import { describe, expect, it } from 'vitest';
import { baselineFrom } from './baseline';
import { compareWithBaseline, gateSummary } from './gate';
import { resultsOf } from './test-results';

const baseline = baselineFrom(
  resultsOf([
    { name: 'support', critical: true, cases: { a: [5, 0], b: [5, 0], c: [5, 0], d: [5, 0] } },
    { name: 'summary', critical: false, cases: { a: [5, 0], b: [5, 0] } },
    { name: 'gone', critical: true, cases: { a: [1, 0] } },
  ]),
  '2025-01-01T00:00:00.000Z',
);

describe('compareWithBaseline', () => {
  it('fails the gate when a critical task drops beyond its threshold, significantly, naming the dropped cases', () => {
    const verdict = compareWithBaseline(
      resultsOf([
        { name: 'support', critical: true, cases: { a: [5, 0], b: [0, 5], c: [1, 4], d: [5, 0] } },
        { name: 'summary', critical: false, cases: { a: [5, 0], b: [5, 0] } },
      ]),
      baseline,
    );
    expect(verdict.pass).toBe(false);
    const support = verdict.tasks.find((t) => t.task === 'support');
    expect(support?.verdict).toBe('regressed');
    expect(support?.drop).toBeCloseTo(0.45, 12);
    expect(support?.pValue).toBeLessThan(0.05);
    expect(support?.droppedCases.map((c) => c.id)).toEqual(['b', 'c']);
    expect(verdict.removedTasks).toEqual(['gone']);
    const summary = gateSummary(verdict);
    expect(summary).toMatch(/^gate: FAIL: 1 critical task\(s\) regressed/);
    expect(summary).toMatch(
      /REGRESSED support: 100\.0% -> 55\.0% .*cases: b \(100\.0% -> 0\.0%\), c \(100\.0% -> 20\.0%\)/,
    );
    expect(summary).toMatch(/removed gone/);
  });

  it('only warns when a non-critical task regresses', () => {
    const verdict = compareWithBaseline(
      resultsOf([
        { name: 'support', critical: true, cases: { a: [5, 0], b: [5, 0], c: [5, 0], d: [5, 0] } },
        { name: 'summary', critical: false, cases: { a: [0, 5], b: [0, 5] } },
      ]),
      baseline,
    );
    expect(verdict.pass).toBe(true);
    expect(verdict.tasks.find((t) => t.task === 'summary')?.verdict).toBe('warning');
    expect(gateSummary(verdict)).toMatch(/^gate: PASS with 1 warning\(s\)\n {2}warning summary/);
  });

  it('does not block a large drop that the counts cannot tell from noise', () => {
    const small = baselineFrom(resultsOf([{ name: 'support', critical: true, cases: { a: [2, 0] } }]), 'now');
    const verdict = compareWithBaseline(resultsOf([{ name: 'support', critical: true, cases: { a: [1, 1] } }]), small);
    const support = verdict.tasks[0];
    expect(support?.drop).toBe(0.5);
    expect(support?.pValue).toBeCloseTo(0.5, 12);
    expect(support?.verdict).toBe('pass');
    expect(verdict.pass).toBe(true);
    expect(gateSummary(verdict)).toMatch(/note support: dropped 50\.0% but p=0\.500 >= 0\.05: within noise/);
  });

  it('does not block a significant drop within the threshold', () => {
    const big = baselineFrom(resultsOf([{ name: 's', critical: true, cases: { a: [1000, 0] } }]), 'now');
    const verdict = compareWithBaseline(resultsOf([{ name: 's', critical: true, cases: { a: [950, 50] } }]), big);
    expect(verdict.tasks[0]?.pValue).toBeLessThan(1e-6);
    expect(verdict.tasks[0]?.verdict).toBe('pass');
    const strict = compareWithBaseline(
      resultsOf([{ name: 's', critical: true, threshold: 0.01, cases: { a: [950, 50] } }]),
      big,
    );
    expect(strict.tasks[0]?.verdict).toBe('regressed');
  });

  it('marks tasks the baseline lacks as new and never fails on them', () => {
    const verdict = compareWithBaseline(resultsOf([{ name: 'fresh', critical: true, cases: { a: [0, 3] } }]), baseline);
    expect(verdict.tasks[0]?.verdict).toBe('new');
    expect(verdict.pass).toBe(true);
  });
});
