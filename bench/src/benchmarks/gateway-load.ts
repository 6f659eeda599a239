/**
 * Child of the gateway benchmark: the load generator, in its own process so it never shares an
 * event loop with what it measures. For each IPC message `LoadJob` it runs a warm-up, then the
 * measured run, and answers a `LoadResult`.
 *
 * Closed loop (no `rate`): autocannon's programmatic API, one request in flight per connection,
 * the next sent as soon as the previous answer completes. autocannon's own latency histogram keeps
 * whole milliseconds (its HDR histogram truncates), too coarse for a sub-millisecond goal, so every
 * response's time (autocannon's float ms, request written to response complete: the full body, the
 * whole stream) is recorded here and the percentiles are computed exactly.
 *
 * Open loop (`rate`): requests leave on a fixed schedule, one every 1/rate s, whatever the answers
 * do, spread round-robin over `connections` keep-alive connections (one `node:http` Agent with one
 * socket each, opened during the warm-up and kept for the measured run). autocannon's
 * `overallRate`/`connectionRate` are not used: each of its connections sends back to back until it
 * has made its quota for the second, and every connection's quota resets on its own 1 s interval, all
 * started together, so at 100 connections and 100 req/s it fires 100 requests at once each second
 * (a burst that queues like the closed loop) rather than one every 10 ms. Latency is from the
 * moment a request is handed to its connection (it waits there if that connection is still busy:
 * the wait counts) to the end of the response.
 */
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/** One measured run. */
export interface LoadJob {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly connections: number;
  readonly warmupS: number;
  readonly durationS: number;
  /** Open loop: total requests per second, spread over the connections. Absent: closed loop. */
  readonly rate?: number;
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
  /** Open loop: requests the schedule sent in the measured run (0 in a closed loop). */
  readonly scheduled: number;
  /** Open loop: p99 of how late the scheduler handed requests out, ms (the load generator's own delay). */
  readonly lagP99: number;
  /** Open loop: connections opened during the measured run (0 when all stayed open). */
  readonly newConnections: number;
}

type Measured = Omit<LoadResult, 'warmupRequests'>;

/** Float latencies, grown as needed, then sorted into percentiles. */
class Times {
  #times = new Float64Array(1 << 16);
  n = 0;
  push(ms: number): void {
    if (this.n === this.#times.length) {
      const bigger = new Float64Array(this.#times.length * 2);
      bigger.set(this.#times);
      this.#times = bigger;
    }
    this.#times[this.n++] = ms;
  }
  sorted(): Float64Array {
    return this.#times.slice(0, this.n).sort();
  }
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

function summarize(
  times: Times,
  seconds: number,
  statuses: Record<string, number>,
  bytes: { min: number; max: number },
): Omit<Measured, 'errors' | 'timeouts' | 'scheduled' | 'lagP99' | 'newConnections'> {
  const sorted = times.sorted();
  let sum = 0;
  for (const t of sorted) sum += t;
  const ok = Object.entries(statuses).reduce((a, [s, c]) => a + (s.startsWith('2') ? c : 0), 0);
  const all = Object.values(statuses).reduce((a, c) => a + c, 0);
  const n = sorted.length;
  return {
    requests: n,
    rps: n / seconds,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    mean: n > 0 ? sum / n : Number.NaN,
    non2xx: all - ok,
    minBytes: n > 0 ? bytes.min : 0,
    maxBytes: bytes.max,
    statuses,
  };
}

/** Closed loop: autocannon, one request in flight per connection. */
async function runClosed(job: LoadJob, durationS: number, record: boolean): Promise<Measured> {
  const times = new Times();
  const bytes = { min: Number.POSITIVE_INFINITY, max: 0 };
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
    (_client: unknown, status: number, size: number, ms: number) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!record) return;
      times.push(ms);
      if (size < bytes.min) bytes.min = size;
      if (size > bytes.max) bytes.max = size;
    },
  );
  const result = await instance;
  return {
    ...summarize(times, result.duration, statuses, bytes),
    errors: result.errors,
    timeouts: result.timeouts,
    scheduled: 0,
    lagP99: Number.NaN,
    newConnections: 0,
  };
}

/** Keep-alive connections of an open-loop job: one Agent with a single socket each. */
class Connections {
  readonly #agents: Agent[];
  readonly #url: URL;
  readonly #headers: Record<string, string | number>;
  readonly #body: Buffer;
  readonly #seen = new WeakSet<Socket>();
  #next = 0;
  /** Sockets opened so far (a request queued behind a busy one reuses it without `reusedSocket`). */
  opened = 0;

  constructor(job: LoadJob) {
    this.#agents = Array.from({ length: job.connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    this.#url = new URL(job.url);
    this.#body = Buffer.from(job.body);
    this.#headers = { ...job.headers, 'content-length': this.#body.length };
  }

  /** Sends one request on the next connection in turn; resolves when the response has ended. */
  send(): Promise<{ status: number; bytes: number }> {
    const agent = this.#agents[this.#next] as Agent;
    this.#next = (this.#next + 1) % this.#agents.length;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: this.#url.hostname,
          port: this.#url.port,
          path: this.#url.pathname,
          method: 'POST',
          headers: this.#headers,
        },
        (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
          res.on('error', reject);
        },
      );
      req.on('socket', (socket: Socket) => {
        if (this.#seen.has(socket)) return;
        this.#seen.add(socket);
        this.opened++;
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(this.#body);
    });
  }

  close(): void {
    for (const agent of this.#agents) agent.destroy();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open loop: `rate` requests per second on a fixed schedule, round-robin over the connections. */
async function runOpen(conns: Connections, rate: number, durationS: number, record: boolean): Promise<Measured> {
  const times = new Times();
  const lags = new Times();
  const bytes = { min: Number.POSITIVE_INFINITY, max: 0 };
  const statuses: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  const opened = conns.opened;
  let lastEnd = 0;
  const total = Math.round(rate * durationS);
  const interval = 1000 / rate;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / interval) + 1);
    for (; sent < due; sent++) {
      lags.push(now - (start + sent * interval));
      const t0 = performance.now();
      inFlight.push(
        conns.send().then(
          (r) => {
            const end = performance.now();
            lastEnd = end;
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            if (!record) return;
            times.push(end - t0);
            if (r.bytes < bytes.min) bytes.min = r.bytes;
            if (r.bytes > bytes.max) bytes.max = r.bytes;
          },
          (error: unknown) => {
            if (String(error).includes('timeout')) timeouts++;
            else errors++;
          },
        ),
      );
    }
    const wait = start + sent * interval - performance.now();
    if (sent < total) await sleep(Math.max(0, wait));
  }
  await Promise.all(inFlight);
  // Throughput over the schedule and its drain: below the rate when the target could not keep up.
  const seconds = Math.max(durationS, (lastEnd - start) / 1000);
  const lagSorted = lags.sorted();
  return {
    ...summarize(times, seconds, statuses, bytes),
    errors,
    timeouts,
    scheduled: total,
    lagP99: quantile(lagSorted, 0.99),
    newConnections: conns.opened - opened,
  };
}

async function job(message: LoadJob): Promise<LoadResult> {
  const countAll = (m: Measured | undefined) => (m ? Object.values(m.statuses).reduce((a, c) => a + c, 0) : 0);
  if (message.rate === undefined) {
    const warm = message.warmupS > 0 ? await runClosed(message, message.warmupS, false) : undefined;
    const measured = await runClosed(message, message.durationS, true);
    return { ...measured, warmupRequests: countAll(warm) };
  }
  const conns = new Connections(message);
  try {
    // The warm-up lasts at least one request per connection, so every connection is open (and
    // kept alive) before the measured run.
    const warmupS = Math.max(message.warmupS, message.connections / message.rate);
    const warm = await runOpen(conns, message.rate, warmupS, false);
    const measured = await runOpen(conns, message.rate, message.durationS, true);
    return { ...measured, warmupRequests: countAll(warm) };
  } finally {
    conns.close();
  }
}

process.on('message', (message: LoadJob) => {
  job(message).then(
    (result) => process.send?.({ ok: true, result }),
    (error: unknown) => process.send?.({ ok: false, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
