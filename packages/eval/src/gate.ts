import type { Baseline } from './baseline';
import { fisherDropPValue } from './fisher';
import type { RunResults } from './run-results';

/** A case whose pass rate fell below its baseline. */
export interface CaseDrop {
  readonly id: string;
  readonly baselineRate: number;
  readonly currentRate: number;
}

/**
 * How one task compares with the baseline.
 * - `pass`: no drop beyond the threshold, or one the test cannot tell from noise.
 * - `regressed`: a critical task dropped by more than its threshold, significantly.
 * - `warning`: the same for a non-critical task; it never blocks.
 * - `new`: the baseline has no such task.
 */
export type TaskVerdictKind = 'pass' | 'regressed' | 'warning' | 'new';

/** One task's comparison with the baseline: counts, drop, p-value, verdict and the cases that fell. */
export interface TaskVerdict {
  readonly task: string;
  readonly critical: boolean;
  readonly verdict: TaskVerdictKind;
  readonly baseline?: { readonly passed: number; readonly failed: number; readonly rate: number };
  readonly current: { readonly passed: number; readonly failed: number; readonly rate: number };
  /** Baseline rate minus current rate (positive is worse). */
  readonly drop: number;
  /** One-sided Fisher exact p-value for a drop; 1 when there is nothing to compare. */
  readonly pValue: number;
  readonly threshold: number;
  readonly alpha: number;
  /** Cases whose pass rate fell, worst first. */
  readonly droppedCases: readonly CaseDrop[];
}

/** The gate's decision. `pass` is false exactly when a critical task regressed. */
export interface GateVerdict {
  readonly pass: boolean;
  readonly tasks: readonly TaskVerdict[];
  /** Tasks in the baseline that this run no longer has. */
  readonly removedTasks: readonly string[];
}

const rate = (passed: number, failed: number) => (passed + failed === 0 ? 0 : passed / (passed + failed));

/**
 * Compares each task of a run with the baseline. A task regresses when its pass rate drops by
 * more than its `threshold` AND a one-sided Fisher exact test on the pass/fail counts gives
 * `p < alpha`, so that a drop within the noise of a few runs does not block a deploy. Critical
 * regressions fail the gate; non-critical ones are warnings.
 * @example const verdict = compareWithBaseline(results, baseline); if (!verdict.pass) process.exitCode = 2;
 */
export function compareWithBaseline(results: RunResults, baseline: Baseline): GateVerdict {
  const tasks = results.tasks.map((t): TaskVerdict => {
    const current = { passed: t.passed, failed: t.failed, rate: rate(t.passed, t.failed) };
    const base = Object.hasOwn(baseline.tasks, t.name) ? baseline.tasks[t.name] : undefined;
    const common = { task: t.name, critical: t.critical, current, threshold: t.threshold, alpha: t.alpha };
    if (!base) return { ...common, verdict: 'new', drop: 0, pValue: 1, droppedCases: [] };
    const before = { passed: base.passed, failed: base.failed, rate: rate(base.passed, base.failed) };
    const drop = before.rate - current.rate;
    const pValue = fisherDropPValue(before, current);
    const regressed = drop > t.threshold + 1e-12 && pValue < t.alpha;
    const droppedCases: CaseDrop[] = [];
    for (const c of t.cases) {
      const b = Object.hasOwn(base.cases, c.id) ? base.cases[c.id] : undefined;
      if (!b || b.passed + b.failed === 0) continue;
      const baselineRate = rate(b.passed, b.failed);
      const currentRate = rate(c.passed, c.failed);
      if (currentRate < baselineRate) droppedCases.push({ id: c.id, baselineRate, currentRate });
    }
    droppedCases.sort((a, b) => b.baselineRate - b.currentRate - (a.baselineRate - a.currentRate));
    return {
      ...common,
      verdict: regressed ? (t.critical ? 'regressed' : 'warning') : 'pass',
      baseline: before,
      drop,
      pValue,
      droppedCases,
    };
  });
  const names = new Set(results.tasks.map((t) => t.name));
  return {
    pass: !tasks.some((t) => t.verdict === 'regressed'),
    tasks,
    removedTasks: Object.keys(baseline.tasks).filter((n) => !names.has(n)),
  };
}

/**
 * A few plain lines for a terminal or a CI log: the verdict, then one line per regressed or
 * warned task naming its dropped cases.
 * @example process.stderr.write(gateSummary(verdict));
 */
export function gateSummary(verdict: GateVerdict): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines: string[] = [];
  const flagged = verdict.tasks.filter((t) => t.verdict === 'regressed' || t.verdict === 'warning');
  lines.push(
    verdict.pass
      ? `gate: PASS${flagged.length ? ` with ${flagged.length} warning(s)` : ''}`
      : `gate: FAIL: ${flagged.filter((t) => t.verdict === 'regressed').length} critical task(s) regressed`,
  );
  for (const t of flagged) {
    const label = t.verdict === 'regressed' ? 'REGRESSED' : 'warning';
    const cases = t.droppedCases.map((c) => `${c.id} (${pct(c.baselineRate)} -> ${pct(c.currentRate)})`).join(', ');
    lines.push(
      `  ${label} ${t.task}: ${pct(t.baseline?.rate ?? 0)} -> ${pct(t.current.rate)} ` +
        `(drop ${pct(t.drop)} > ${pct(t.threshold)}, p=${t.pValue.toPrecision(3)} < ${t.alpha})` +
        (cases ? `; cases: ${cases}` : ''),
    );
  }
  for (const t of verdict.tasks.filter((x) => x.verdict === 'pass' && x.drop > x.threshold)) {
    lines.push(
      `  note ${t.task}: dropped ${pct(t.drop)} but p=${t.pValue.toPrecision(3)} >= ${t.alpha}: within noise, not blocking`,
    );
  }
  for (const t of verdict.tasks.filter((x) => x.verdict === 'new')) lines.push(`  new ${t.task}: no baseline yet`);
  for (const name of verdict.removedTasks) lines.push(`  removed ${name}: in the baseline but not in the golden set`);
  return `${lines.join('\n')}\n`;
}
