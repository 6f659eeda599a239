import {
  type Clock,
  type Completion,
  type Handler,
  RelError,
  RequestContext,
  abortReason,
  collectStream,
  setTimer,
  systemClock,
  toRelError,
} from '@rel/core';
import { z } from 'zod';
import { costOf } from './cost';
import { fingerprint } from './fingerprint';
import type { LoadedCase, LoadedGoldenSet } from './load-golden-set';
import { type CaseResult, type RunRecord, type RunResults, type TaskResult, stats } from './run-results';

/** Options of `runGoldenSet`, validated once. */
export const RunOptionsSchema = z.strictObject({
  /** Runs of each case (model outputs vary). Default 1. */
  repeat: z.number().int().min(1).max(1000).default(1),
  /** Calls in flight at once. Default 4. */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** Per-call time limit in milliseconds. Default 60 000. */
  timeoutMs: z.number().int().positive().default(60_000),
  /** What reports call the target. */
  targetLabel: z.string().default('handler'),
});

/** What `runGoldenSet` accepts: the schema's fields plus hooks and a clock. */
export type RunOptions = z.input<typeof RunOptionsSchema> & {
  /** Latency and timestamps. Default `systemClock`. */
  clock?: Clock;
  /** Cancels the whole run. */
  signal?: AbortSignal;
  /** Called after every finished run with the count done so far. */
  onProgress?: (done: number, total: number) => void;
};

const MAX_OUTPUT_CHARS = 2000;

/**
 * Runs every case of a golden set `repeat` times against a handler, at most `concurrency` calls
 * at once, and checks each answer against the case's assertions. A failed call is a failed run
 * (with its error recorded), never an exception. Results keep the golden set's order.
 * @throws RelError `invalid_request` naming the option when an option is invalid; `cancelled` when `signal` aborts.
 * @example const results = await runGoldenSet(await loadGoldenSet('golden.yaml'), handler, { repeat: 3 });
 */
export async function runGoldenSet(
  set: LoadedGoldenSet,
  handler: Handler,
  options: RunOptions = {},
): Promise<RunResults> {
  const { clock = systemClock, signal, onProgress, ...rest } = options;
  const parsed = RunOptionsSchema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = (issue?.path ?? []).map(String).join('.') || '(options)';
    throw new RelError(
      { kind: 'invalid_request', param },
      { message: `runGoldenSet: invalid option ${param}: ${issue?.message}`, cause: parsed.error },
    );
  }
  const opts = parsed.data;
  const jobs: Array<{ c: LoadedCase; critical: boolean; repeat: number; slot: RunRecord[] }> = [];
  const slots = new Map<LoadedCase, RunRecord[]>();
  for (const task of set.tasks) {
    for (const c of task.cases) {
      const slot: RunRecord[] = [];
      slots.set(c, slot);
      for (let r = 1; r <= opts.repeat; r++) jobs.push({ c, critical: task.critical, repeat: r, slot });
    }
  }
  const started = clock.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      if (signal?.aborted) throw toRelError(signal.reason, signal);
      const job = jobs[next++] as (typeof jobs)[number];
      job.slot.push(await runOnce(set, handler, job.c, job.critical, job.repeat, opts.timeoutMs, clock, signal));
      done += 1;
      onProgress?.(done, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, jobs.length) }, worker));

  const tasks: TaskResult[] = set.tasks.map((task) => {
    const cases: CaseResult[] = task.cases.map((c) => {
      const runs = (slots.get(c) ?? []).sort((a, b) => a.repeat - b.repeat);
      const passed = runs.filter((r) => r.pass).length;
      return { id: c.id, ...(c.template ? { template: c.template } : {}), passed, failed: runs.length - passed, runs };
    });
    const runs = cases.flatMap((c) => c.runs);
    const passed = runs.filter((r) => r.pass).length;
    const priced = runs.filter((r) => r.costUsd !== undefined);
    const total = priced.reduce((s, r) => s + (r.costUsd ?? 0), 0);
    return {
      name: task.name,
      critical: task.critical,
      threshold: task.threshold,
      alpha: task.alpha,
      passed,
      failed: runs.length - passed,
      passRate: runs.length === 0 ? 0 : passed / runs.length,
      latencyMs: stats(runs.map((r) => r.latencyMs)),
      ...(priced.length ? { costUsd: { total, meanPerRun: total / priced.length } } : {}),
      cases,
    };
  });
  return {
    version: 1,
    goldenSet: set.name,
    target: opts.targetLabel,
    startedAt: new Date(started).toISOString(),
    durationMs: clock.now() - started,
    repeat: opts.repeat,
    fingerprint: fingerprint(set.assets),
    tasks,
  };
}

async function runOnce(
  set: LoadedGoldenSet,
  handler: Handler,
  c: LoadedCase,
  critical: boolean,
  repeat: number,
  timeoutMs: number,
  clock: Clock,
  outer: AbortSignal | undefined,
): Promise<RunRecord> {
  // The limit runs on the injected clock and aborts with a `timeout` RelError as the reason.
  const timer = new AbortController();
  const cancelTimer = setTimer(clock, timeoutMs, () =>
    timer.abort(
      new RelError(
        { kind: 'timeout', phase: 'total', limitMs: timeoutMs },
        { message: `no answer within ${timeoutMs} ms` },
      ),
    ),
  );
  const signal = outer ? AbortSignal.any([outer, timer.signal]) : timer.signal;
  const ctx = new RequestContext({
    signal,
    deadline: clock.now() + timeoutMs,
    clock,
    operation: 'eval',
    feature: { name: c.task, critical },
  });
  const start = clock.now();
  let completion: Completion;
  try {
    // Raced with the signal, so a target that ignores it cannot hold the run forever.
    const res = await untilAborted(handler(c.request, ctx), signal);
    completion = res.type === 'stream' ? await untilAborted(collectStream(res), signal) : res;
  } catch (e) {
    const error = toRelError(e, signal);
    if (outer?.aborted) throw error;
    return {
      repeat,
      pass: false,
      latencyMs: clock.now() - start,
      error: { kind: error.failure.kind, message: error.message },
      failures: [`call failed: ${error.message}`],
    };
  } finally {
    cancelTimer();
  }
  const latencyMs = clock.now() - start;
  const text = completion.message.content ?? completion.message.toolCalls?.[0]?.arguments ?? '';
  const costUsd = costOf(completion.usage, [completion.model, c.request.model], set.prices);
  const output = { text, completion, latencyMs, costUsd };
  const failures: string[] = [];
  for (const a of c.assertions) {
    const verdict = await a.check(output, { task: c.task, caseId: c.id, vars: c.vars, request: c.request });
    if (!verdict.pass) failures.push(verdict.message ?? `${a.label} failed`);
  }
  return {
    repeat,
    pass: failures.length === 0,
    latencyMs,
    ...(costUsd === undefined ? {} : { costUsd }),
    inputTokens: completion.usage.inputTokens,
    outputTokens: completion.usage.outputTokens,
    output: text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}…` : text,
    failures,
  };
}

/** `promise`, or a rejection with the abort reason as soon as `signal` aborts; the listener is always removed. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
