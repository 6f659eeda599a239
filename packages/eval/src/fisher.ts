/**
 * `ln(n!)` for a non-negative integer, exact summation below 256 (cached) and Stirling's series
 * above, accurate to double precision for the counts a golden set produces.
 * @throws RangeError when `n` is negative or not an integer.
 * @example logFactorial(5) // Math.log(120)
 */
export function logFactorial(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`logFactorial: n must be a non-negative integer, got ${n}`);
  if (n < TABLE_SIZE) return table()[n] as number;
  const x = n + 1;
  // Stirling's series for ln Γ(x).
  return (
    (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3) + 1 / (1260 * x ** 5)
  );
}

const TABLE_SIZE = 256;
let cache: Float64Array | undefined;
function table(): Float64Array {
  if (cache) return cache;
  const t = new Float64Array(TABLE_SIZE);
  for (let i = 2; i < TABLE_SIZE; i++) t[i] = (t[i - 1] as number) + Math.log(i);
  cache = t;
  return t;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/** Pass/fail counts of one side of a comparison. */
export interface PassCounts {
  readonly passed: number;
  readonly failed: number;
}

/**
 * One-sided Fisher's exact test for a drop in success rate: the probability, under the null
 * hypothesis that both runs share one success rate, of the baseline holding at least as many of
 * the pooled passes as it does. A small value means the current run is significantly worse.
 * Returns 1 when either side has no trials (nothing to compare).
 * @param baseline pass/fail counts of the baseline run.
 * @param current pass/fail counts of the current run.
 * @throws RangeError when a count is negative or not an integer.
 * @example
 * // The lady tasting tea: 3 of 4 right against 1 of 4, one-sided p = 17/70.
 * fisherDropPValue({ passed: 3, failed: 1 }, { passed: 1, failed: 3 }) // 0.242857...
 */
export function fisherDropPValue(baseline: PassCounts, current: PassCounts): number {
  for (const [name, v] of Object.entries({
    'baseline.passed': baseline.passed,
    'baseline.failed': baseline.failed,
    'current.passed': current.passed,
    'current.failed': current.failed,
  })) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`fisherDropPValue: ${name} must be a non-negative integer`);
  }
  const n1 = baseline.passed + baseline.failed;
  const n2 = current.passed + current.failed;
  if (n1 === 0 || n2 === 0) return 1;
  const passes = baseline.passed + current.passed;
  const total = n1 + n2;
  const denominator = logChoose(total, passes);
  const hi = Math.min(n1, passes);
  let p = 0;
  for (let x = baseline.passed; x <= hi; x++) {
    if (passes - x > n2) continue;
    p += Math.exp(logChoose(n1, x) + logChoose(n2, passes - x) - denominator);
  }
  return Math.min(1, Math.max(0, p));
}
