/**
 * Child of the gateway benchmark: the load generator (autocannon's programmatic API), in its own
 * process so it never shares an event loop with what it measures. For each IPC message
 * `LoadJob` it runs a warm-up, then the measured run, and answers a `LoadResult`.
 *
 * autocannon's own latency histogram keeps whole milliseconds (its HDR histogram truncates), too
 * coarse for a sub-millisecond goal, so every response's time (autocannon's float ms, request
 * written to response complete: the full body, the whole stream) is recorded here and the
 * percentiles are computed exactly.
 */
import autocannon from 'autocannon';

/** One measured run. */
export interface LoadJob {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly connections: number;
  readonly warmupS: number;
  readonly durationS: number;
}

/** What one run measured. Latencies in milliseconds. */
export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly mean: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly statuses: Record<string, number>;
  /** Responses received during the warm-up. */
  readonly warmupRequests: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

async function run(job: LoadJob, durationS: number, record: boolean): Promise<Omit<LoadResult, 'warmupRequests'>> {
  let times = new Float64Array(1 << 16);
  let n = 0;
  let minBytes = Number.POSITIVE_INFINITY;
  let maxBytes = 0;
  const statuses: Record<string, number> = {};
  const instance = autocannon({
    url: job.url,
    method: 'POST',
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    duration: durationS,
    timeout: 10,
  });
  (instance as unknown as NodeJS.EventEmitter).on(
    'response',
    (_client: unknown, status: number, bytes: number, ms: number) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!record) return;
      if (n === times.length) {
        const bigger = new Float64Array(times.length * 2);
        bigger.set(times);
        times = bigger;
      }
      times[n++] = ms;
      if (bytes < minBytes) minBytes = bytes;
      if (bytes > maxBytes) maxBytes = bytes;
    },
  );
  const result = await instance;
  const sorted = times.slice(0, n).sort();
  let sum = 0;
  for (const t of sorted) sum += t;
  const ok = Object.entries(statuses).reduce((a, [s, c]) => a + (s.startsWith('2') ? c : 0), 0);
  const all = Object.values(statuses).reduce((a, c) => a + c, 0);
  return {
    requests: n,
    rps: n / result.duration,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    mean: n > 0 ? sum / n : Number.NaN,
    non2xx: all - ok,
    errors: result.errors,
    timeouts: result.timeouts,
    minBytes: n > 0 ? minBytes : 0,
    maxBytes,
    statuses,
  };
}

process.on('message', (message: LoadJob) => {
  (async () => {
    const warm = message.warmupS > 0 ? await run(message, message.warmupS, false) : undefined;
    const measured = await run(message, message.durationS, true);
    const warmupRequests = warm ? Object.values(warm.statuses).reduce((a, c) => a + c, 0) : 0;
    return { ...measured, warmupRequests };
  })().then(
    (result) => process.send?.({ ok: true, result }),
    (error: unknown) => process.send?.({ ok: false, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
