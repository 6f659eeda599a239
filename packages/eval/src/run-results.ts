/** One run of one case. */
export interface RunRecord {
  /** 1-based repeat number. */
  readonly repeat: number;
  readonly pass: boolean;
  readonly latencyMs: number;
  readonly costUsd?: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** The answer's text (cut to 2,000 characters). */
  readonly output?: string;
  /** The call failed before any assertion ran: the failure kind and message. */
  readonly error?: { readonly kind: string; readonly message: string };
  /** Messages of the assertions that failed. */
  readonly failures: readonly string[];
}

/** A case's runs and counts. */
export interface CaseResult {
  readonly id: string;
  readonly template?: string;
  readonly passed: number;
  readonly failed: number;
  readonly runs: readonly RunRecord[];
}

/** Summary statistics of a list of numbers. */
export interface Stats {
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/** A task's counts, latency and cost. */
export interface TaskResult {
  readonly name: string;
  readonly critical: boolean;
  readonly threshold: number;
  readonly alpha: number;
  readonly passed: number;
  readonly failed: number;
  readonly passRate: number;
  readonly latencyMs: Stats;
  /** Summed over every run; undefined when no run could be priced. */
  readonly costUsd?: { readonly total: number; readonly meanPerRun: number };
  readonly cases: readonly CaseResult[];
}

/** What `rel-eval run` writes as `results.json`. */
export interface RunResults {
  readonly version: 1;
  readonly goldenSet: string;
  readonly target: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly repeat: number;
  readonly fingerprint: Fingerprint;
  readonly tasks: readonly TaskResult[];
}

/** Content hashes of a golden set and every file it uses. */
export interface Fingerprint {
  /** sha256 over every asset's path and hash. */
  readonly combined: string;
  /** sha256 of each file, keyed by its path relative to the golden set's folder. */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * Mean, median, 95th percentile (nearest rank) and maximum; zeros for an empty list.
 * @example stats([1, 2, 3, 4]).p50 // 2
 */
export function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { mean: 0, p50: 0, p95: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return { mean, p50: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1] as number };
}
