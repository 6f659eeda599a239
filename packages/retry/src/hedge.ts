import { type Clock, RelError, setTimer } from '@rel/core';
import { z } from 'zod';

/**
 * Options of hedging (the `hedge` option of `retry` and `retryPolicy`).
 * @example retry({ hedge: { delayMs: 1_500, percentile: 0.95, routes: ['fast-alias'] } })
 */
export const HedgeOptionsSchema = z.strictObject({
  /** Start the extra attempt after this delay; with `percentile`, the delay used until enough samples exist. */
  delayMs: z.number().nonnegative().finite().default(1_000),
  /** Use the observed latency at this quantile instead (0.95 for p95), per route. */
  percentile: z.number().gt(0).lt(1).optional(),
  /** Successful attempts observed before `percentile` is trusted. */
  minSamples: z.number().int().min(1).max(1_000).default(20),
  /** Hedge only these routes (`req.model`); default every route. */
  routes: z.array(z.string().min(1)).optional(),
});
export type HedgeOptions = z.input<typeof HedgeOptionsSchema>;

/** The abort reason given to the attempt that lost a hedge race. */
const LOST = 'hedge lost';
const noop = () => {};

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );

/** One hedged slot, as the retry loop runs it. @internal */
export interface HedgeRun<T> {
  start(signal: AbortSignal, hedge: boolean): Promise<T>;
  readonly delayMs: number;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** Asked when the delay passes: may the extra attempt start (budget, deadline)? */
  allow(): boolean | Promise<boolean>;
  onHedge(): void;
  /** Releases a success that lost the race (closes its stream). */
  discard(value: T): void;
}

/**
 * Runs one attempt and, if it has not settled after `delayMs`, one extra attempt beside it. The
 * first success wins and the other is aborted (reason: `cancelled`, "hedge lost"); a late success
 * is discarded. When both fail, the first attempt's error is thrown.
 * @internal
 */
export async function runHedged<T>(run: HedgeRun<T>): Promise<T> {
  const first = new AbortController();
  let primary: Settled<T> | undefined;
  const p1 = settle(run.start(AbortSignal.any([run.signal, first.signal]), false)).then((s) => (primary = s));
  // A cancellable timer: when the first attempt settles in time it is cleared, nothing is aborted.
  let cancelTimer: () => void = noop;
  const fired = new Promise<boolean>((resolve) => {
    cancelTimer = setTimer(run.clock, run.delayMs, () => resolve(true));
  });
  const early = await Promise.race([p1, fired]);
  if (typeof early !== 'boolean') {
    cancelTimer();
    return unwrap(early);
  }
  if (run.signal.aborted || !(await run.allow()) || primary) return unwrap(await p1);
  run.onHedge();
  const second = new AbortController();
  const p2 = settle(run.start(AbortSignal.any([run.signal, second.signal]), true));
  return new Promise<T>((resolve, reject) => {
    let won = false;
    let failed = 0;
    let firstError: unknown;
    const onSettled = (s: Settled<T>, loser: AbortController, primary: boolean) => {
      if (s.ok) {
        if (won) return run.discard(s.value);
        won = true;
        loser.abort(new RelError({ kind: 'cancelled', reason: LOST }));
        return resolve(s.value);
      }
      if (won) return;
      if (primary) firstError = s.error;
      else firstError ??= s.error;
      if (++failed === 2) reject(firstError);
    };
    p1.then((s) => onSettled(s, second, true)).catch(noop);
    p2.then((s) => onSettled(s, first, false)).catch(noop);
  });
}

function unwrap<T>(s: Settled<T>): T {
  if (s.ok) return s.value;
  throw s.error;
}
