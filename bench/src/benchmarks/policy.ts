/**
 * policy: retry + timeout + circuit breaker around an already-resolved call.
 *
 * Same configuration everywhere: 3 attempts in all (cockatiel and p-retry count 2 retries), zero
 * backoff (we measure the policies, not sleeping), a 10 s timeout that never fires, a breaker
 * that does not trip on either path. Order, outermost first: retry, breaker, timeout (cockatiel's
 * `wrap(retry, breaker, timeout)`). The one-retry path fails the first attempt of every call with
 * a retryable error (an Error with `status: 503`, preallocated so no stack is captured in the loop)
 * and resolves the second.
 */
import type { Clock } from '@rel/core';
import { systemClock } from '@rel/core';
import { CircuitBreaker } from '@rel/fallback';
import { retryPolicy, timeoutPolicy } from '@rel/retry';
import {
  ConsecutiveBreaker,
  ConstantBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  wrap,
} from 'cockatiel';
import Opossum from 'opossum';
import pRetry from 'p-retry';
import { type Candidate, compare, fmtNs, fmtRate, ratio } from '../lib/measure';
import { table } from '../lib/report';

const VALUE = { ok: true };
const FLAKY = Object.assign(new Error('flaky upstream'), { status: 503 });
const TIMEOUT_MS = 10_000;
const timeoutAlone = timeoutPolicy({ totalMs: TIMEOUT_MS });

/** A call that always resolves, or one that fails every other invocation (fail, ok, fail, ok...). */
function makeFn(flaky: boolean): { fn: () => Promise<unknown>; calls: () => number } {
  let n = 0;
  const fn = flaky
    ? () => (n++ % 2 === 0 ? Promise.reject(FLAKY) : Promise.resolve(VALUE))
    : () => {
        n++;
        return Promise.resolve(VALUE);
      };
  return { fn, calls: () => n };
}

/**
 * rel's system clock waits with `setTimeout` even for 0 ms (Node clamps that to ~1 ms). This clock
 * resolves a 0 ms wait at once and is otherwise the system clock: it shows what skipping the
 * zero-length timer in `RetryCore.run` would give.
 */
const zeroSkippingClock: Clock = {
  now: systemClock.now,
  sleep: (ms, signal) => (ms <= 0 && !signal?.aborted ? Promise.resolve() : systemClock.sleep(ms, signal)),
};

function relStack(fn: () => Promise<unknown>, clock?: Clock) {
  const r = retryPolicy({
    maxAttempts: 3,
    backoff: { type: 'exponential', baseMs: 0, capMs: 0, jitter: 'none' },
    ...(clock ? { clock } : {}),
  });
  const t = timeoutPolicy({ totalMs: TIMEOUT_MS });
  const b = new CircuitBreaker({ consecutiveFailures: 5, openMs: 30_000 });
  return () => r.execute((s) => b.execute((s2) => t.execute(() => fn(), s2), s));
}

function cockatielStack(fn: () => Promise<unknown>) {
  const policy = wrap(
    cockatielRetry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) }),
    circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
    cockatielTimeout(TIMEOUT_MS, TimeoutStrategy.Aggressive),
  );
  return () => policy.execute(() => fn());
}

function pRetryOpossumStack(fn: () => Promise<unknown>) {
  // opossum has no consecutive-failure mode: a 75% error rate over its 10 s window (at least 5
  // calls) is its nearest setting that trips on neither path, as the consecutive-5 breakers do.
  const breaker = new Opossum(() => fn(), {
    timeout: TIMEOUT_MS,
    errorThresholdPercentage: 75,
    volumeThreshold: 5,
    resetTimeout: 30_000,
  });
  const run = () => pRetry(() => breaker.fire(), { retries: 2, minTimeout: 0, maxTimeout: 0, randomize: false });
  return { run, breaker };
}

interface Path {
  readonly label: string;
  readonly flaky: boolean;
}

async function runPath(path: Path): Promise<{ rows: string[][]; checks: string[] }> {
  const bare = makeFn(path.flaky);
  const relFn = makeFn(path.flaky);
  const relZeroFn = makeFn(path.flaky);
  const cockFn = makeFn(path.flaky);
  const poFn = makeFn(path.flaky);
  const po = pRetryOpossumStack(poFn.fn);
  // The bare call: on the one-retry path, the caller's own try-again-once loop.
  const bareRun = path.flaky ? () => bare.fn().catch(() => bare.fn()) : bare.fn;
  const candidates: Candidate[] = [
    { name: 'bare call (floor)', run: bareRun },
    { name: 'rel', run: relStack(relFn.fn) },
    { name: 'cockatiel 3.2.1', run: cockatielStack(cockFn.fn) },
    { name: 'p-retry 7 + opossum 9', run: po.run },
  ];
  if (path.flaky) {
    candidates.push({ name: 'rel, clock skipping 0 ms waits', run: relStack(relZeroFn.fn, zeroSkippingClock) });
  }
  const m = await compare(candidates, { samples: 15, targetBatchMs: path.flaky ? 60 : 20 });
  po.breaker.shutdown();
  const rel = m[1]!;
  const floor = m[0]!;
  const rows = m.map((r) => [
    path.label,
    r.name,
    fmtNs(r.medianNs),
    fmtNs(r.medianNs - floor.medianNs),
    fmtRate(r.opsPerSec),
    r === floor
      ? '–'
      : r === rel
        ? '1.00'
        : r.name.startsWith('rel')
          ? `(${ratio(rel.medianNs, r.medianNs)}x faster)`
          : ratio(r.medianNs, rel.medianNs),
  ]);
  // Every stack must have run exactly the attempts it should: 2 per call on the flaky path.
  if (!path.flaky) return { rows, checks: [] };
  const checks = [relFn, cockFn, poFn, ...(path.flaky ? [relZeroFn] : [])].map((f, i) => {
    const calls = f.calls();
    return `${['rel', 'cockatiel', 'p-retry+opossum', 'rel zero-wait'][i]} ${calls % 2 === 0 ? 'ok' : 'ODD'}`;
  });
  return { rows, checks };
}

/** Runs both paths and returns the RESULTS.md body. */
export async function policyBench(): Promise<string> {
  const success = await runPath({ label: 'success', flaky: false });
  const oneRetry = await runPath({ label: 'one retry', flaky: true });
  // What the primitives the stacks are built from cost on this machine (explains the gaps above).
  const noop = () => {};
  const prim = await compare(
    [
      { name: '`new AbortController().signal`', sync: true, run: () => new AbortController().signal },
      {
        name: 'AbortController + abort listener + `abort()`',
        sync: true,
        run: () => {
          const c = new AbortController();
          c.signal.addEventListener('abort', noop, { once: true });
          c.abort();
        },
      },
      { name: '`clearTimeout(setTimeout(f, 10_000))`', sync: true, run: () => clearTimeout(setTimeout(noop, 10_000)) },
      { name: 'rel `timeoutPolicy` alone', run: () => timeoutAlone.execute(() => Promise.resolve(VALUE)) },
    ],
    { samples: 9 },
  );
  const body = [
    table(
      ['path', 'stack', 'median / call', 'over the floor', 'calls/s', 'ratio peer/rel'],
      [...success.rows, ...oneRetry.rows],
    ),
    '',
    "Ratio = the stack's median time / rel's (above 1: rel is faster). 15 interleaved samples per stack,",
    'each a batch of sequential awaited calls of about 20 ms (60 ms on the one-retry path).',
    'Config: 3 attempts in all (cockatiel `maxAttempts: 2`, p-retry `retries: 2`), zero backoff, 10 s',
    'timeout (cockatiel `Aggressive`, which like rel wins even if the callee ignores its signal; opossum',
    '`timeout`), breaker opening after 5 consecutive failures (cockatiel `ConsecutiveBreaker(5)`; opossum',
    'has no such mode: 75% over its rolling window, volume 5), order retry ∘ breaker ∘ timeout.',
    'Zero backoff still costs a timer where the library schedules one: cockatiel always calls',
    "`setTimeout(0)` (≈1 ms in Node), p-retry skips a 0 ms delay, rel's `systemClock.sleep(0)` schedules",
    'one. The last row injects a clock that resolves 0 ms waits at once (what a fix in rel would give).',
    '',
    '',
    'Primitives (same process, interleaved):',
    '',
    table(
      ['primitive', 'median'],
      prim.map((p) => [p.name, fmtNs(p.medianNs)]),
    ),
    '',
    `Sanity (one-retry path: every stack made an even number of attempts, 2 per call): ${oneRetry.checks.join(', ')}.`,
  ];
  return body.join('\n');
}
