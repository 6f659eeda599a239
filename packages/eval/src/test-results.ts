import type { CaseResult, RunResults, TaskResult } from './run-results';

/**
 * Builds run results from pass/fail counts per case, for tests of the gate and the reports.
 * Not exported from the package.
 */
export function resultsOf(
  tasks: Array<{ name: string; critical: boolean; threshold?: number; cases: Record<string, [number, number]> }>,
): RunResults {
  return {
    version: 1,
    goldenSet: 'demo',
    target: 'test',
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 10,
    repeat: 1,
    fingerprint: { combined: 'x', files: {} },
    tasks: tasks.map((t): TaskResult => {
      const cases: CaseResult[] = Object.entries(t.cases).map(([id, [passed, failed]]) => ({
        id,
        passed,
        failed,
        runs: [
          ...Array.from({ length: passed }, (_, i) => ({ repeat: i + 1, pass: true, latencyMs: 10, failures: [] })),
          ...Array.from({ length: failed }, (_, i) => ({
            repeat: passed + i + 1,
            pass: false,
            latencyMs: 20,
            failures: ['output does not match /^[A-Z]/'],
          })),
        ],
      }));
      const passed = cases.reduce((s, c) => s + c.passed, 0);
      const failed = cases.reduce((s, c) => s + c.failed, 0);
      return {
        name: t.name,
        critical: t.critical,
        threshold: t.threshold ?? 0.1,
        alpha: 0.05,
        passed,
        failed,
        passRate: passed + failed === 0 ? 0 : passed / (passed + failed),
        latencyMs: { mean: 15, p50: 10, p95: 20, max: 20 },
        costUsd: { total: 0.0012, meanPerRun: 0.0001 },
        cases,
      };
    }),
  };
}
