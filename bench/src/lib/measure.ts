/**
 * Interleaved micro-benchmark sampling: every candidate is calibrated to a batch of about
 * `targetBatchMs`, warmed up, then measured `samples` times in rotation (a, b, c, a, b, c, ...) so
 * that drift on a shared machine (other processes, thermal, GC) lands on every candidate alike.
 * The figure reported is the median of the per-sample time per operation.
 */

/** One thing to time. `run` is called once per operation; `sync` skips the `await`. */
export interface Candidate {
  readonly name: string;
  readonly run: () => unknown;
  readonly sync?: boolean;
  /** Bytes processed by one operation, for throughput in MB/s. */
  readonly bytesPerOp?: number;
}

/** What `compare` measured for one candidate. */
export interface Measured {
  readonly name: string;
  /** Median nanoseconds per operation over the samples (wall time). */
  readonly medianNs: number;
  /**
   * Median CPU nanoseconds per operation (this process, user + system, `process.cpuUsage`): less
   * inflated than wall time when other processes compete for the cores, though it counts the
   * process's GC and compiler threads too.
   */
  readonly medianCpuNs: number;
  readonly minNs: number;
  readonly maxNs: number;
  readonly opsPerSec: number;
  readonly batch: number;
  /** MB/s (10^6 bytes) when `bytesPerOp` was given. */
  readonly mbPerSec?: number;
}

export interface CompareOptions {
  readonly samples?: number;
  readonly targetBatchMs?: number;
  readonly warmupMs?: number;
  /**
   * Force a full GC before each batch (default true), so one candidate's garbage is not collected
   * on another's time. Off for long request pipelines: a full GC every few thousand requests frees
   * the hidden classes V8 specialized their code to, and each batch then starts deoptimized, a state
   * a serving process does not live in (per-request CPU about doubles).
   */
  readonly forceGc?: boolean;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Runs `n` operations; returns their wall and CPU nanoseconds. */
async function runBatch(c: Candidate, n: number): Promise<{ ns: number; cpuNs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  if (c.sync) for (let i = 0; i < n; i++) c.run();
  else for (let i = 0; i < n; i++) await c.run();
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { ns, cpuNs: (cpu.user + cpu.system) * 1000 };
}

async function estimate(c: Candidate, targetNs: number): Promise<number> {
  let n = 1;
  for (;;) {
    const { ns } = await runBatch(c, n);
    if (ns >= targetNs / 4 || n >= 1 << 24) return Math.max(1, Math.round((n * targetNs) / Math.max(ns, 1)));
    n *= 2;
  }
}

/** Batch size for about `targetNs`: the median of three estimates, so one slow moment does not set it. */
async function calibrate(c: Candidate, targetNs: number): Promise<number> {
  const estimates: number[] = [];
  for (let i = 0; i < 3; i++) {
    estimates.push(await estimate(c, targetNs));
    await turn();
  }
  return Math.round(median(estimates));
}

/** Lets the event loop run timers and I/O between batches (a loop of resolved awaits never does). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Median of a list of numbers (the list is copied). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Times every candidate in rotation and returns the figures in the order given. */
export async function compare(candidates: readonly Candidate[], options: CompareOptions = {}): Promise<Measured[]> {
  const samples = options.samples ?? 15;
  const targetNs = (options.targetBatchMs ?? 20) * 1e6;
  const warmupNs = (options.warmupMs ?? 300) * 1e6;
  const batches: number[] = [];
  for (const c of candidates) {
    const start = process.hrtime.bigint();
    while (Number(process.hrtime.bigint() - start) < warmupNs) {
      await runBatch(c, 64);
      await turn();
    }
    batches.push(await calibrate(c, targetNs));
  }
  const perOp: number[][] = candidates.map(() => []);
  const cpuPerOp: number[][] = candidates.map(() => []);
  for (let s = 0; s < samples; s++) {
    // Rotate the starting candidate each round so no one always runs right after a GC.
    for (let k = 0; k < candidates.length; k++) {
      const i = (s + k) % candidates.length;
      await turn();
      if (options.forceGc !== false) gc?.();
      const n = batches[i] as number;
      const { ns, cpuNs } = await runBatch(candidates[i] as Candidate, n);
      (perOp[i] as number[]).push(ns / n);
      (cpuPerOp[i] as number[]).push(cpuNs / n);
    }
  }
  return candidates.map((c, i) => {
    const xs = perOp[i] as number[];
    const medianNs = median(xs);
    return {
      name: c.name,
      medianNs,
      medianCpuNs: median(cpuPerOp[i] as number[]),
      minNs: Math.min(...xs),
      maxNs: Math.max(...xs),
      opsPerSec: 1e9 / medianNs,
      batch: batches[i] as number,
      ...(c.bytesPerOp ? { mbPerSec: (c.bytesPerOp * 1e9) / medianNs / 1e6 } : {}),
    };
  });
}

/** A duration in the unit that reads best: ns, µs or ms. */
export function fmtNs(ns: number): string {
  if (ns < 1_000) return `${ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 2 : 1)} µs`;
  return `${(ns / 1_000_000).toFixed(2)} ms`;
}

/** A count per second with thousands separators. */
export function fmtRate(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** `peer / rel` with two decimals: above 1 means rel is faster. */
export function ratio(peer: number, rel: number): string {
  return (peer / rel).toFixed(2);
}
