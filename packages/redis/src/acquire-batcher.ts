import type { AcquireResult, LimitOp, LimitResult } from '@rel/core';
import { ReplyError } from 'ioredis';
import { isReplyError, storeError } from './store-error';

/**
 * Most decisions one script run carries by default. The acquire that fills a run sends it at once,
 * so Redis works on it while the rest of the turn is still being issued.
 */
export const MAX_BATCH = 32;

/** Sends one batch script run: `numKeys` keys first in `args`, then ARGV. */
export type SendBatch = (numKeys: number, args: (string | number)[]) => Promise<unknown>;

/** Makes one decision on its own (one script run of its own), for a decision a run could not make. */
export type DecideAlone = (ops: readonly LimitOp[], now: string) => Promise<AcquireResult>;

/**
 * The errors a Cluster node gives a script's call, before running it, for a key it cannot serve
 * now: a slot another node owns ("non local key"), a slot no node serves (Redis 7.4 and later say
 * "a slot not served", 7.0 and 7.2 "non local key"), a cluster that is down. Unbatched, the same
 * decision would meet MOVED, `CLUSTERDOWN Hash slot not served` or `CLUSTERDOWN`.
 */
const NOT_SERVED_HERE = /non local key|slot not served|cluster is down/;

interface Pending {
  readonly ops: readonly LimitOp[];
  /** The decision time, or '' for Redis `TIME`. */
  readonly now: string;
  readonly resolve: (result: AcquireResult | Promise<AcquireResult>) => void;
  readonly reject: (error: unknown) => void;
}

/** Script replies carry whole numbers as integers and fractions as strings; `Number` reads both. */
type Num = number | string;

/**
 * Reads one acquire reply: `1|0` (all allowed), then 4 per op: `1|0`, remaining, resetMs,
 * retryAfterMs.
 */
export function toAcquireResult(ops: readonly LimitOp[], out: readonly Num[]): AcquireResult {
  const n = ops.length;
  const results: LimitResult[] = new Array(n);
  for (let i = 0, j = 1; i < n; i++, j += 4) {
    results[i] = {
      key: (ops[i] as LimitOp).key,
      allowed: out[j] === 1,
      remaining: Number(out[j + 1]),
      resetMs: Number(out[j + 2]),
      retryAfterMs: Number(out[j + 3]),
    };
  }
  return { allowed: out[0] === 1, results };
}

/**
 * Appends one acquire's arguments in the layout of the acquire scripts: its keys at `keys[k..]`,
 * and 7 per op at `args[a..]` (type, limit, period/window, burst, cost, lease id, lease ttl).
 * Returns the next free ARGV index.
 */
export function writeOps(
  ops: readonly LimitOp[],
  prefix: string,
  keys: (string | number)[],
  k: number,
  args: (string | number)[],
  a: number,
): number {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as LimitOp;
    keys[k + i] = prefix + op.key;
    if (op.type === 'rate') {
      args[a++] = 'r';
      args[a++] = op.limit;
      args[a++] = op.periodMs;
      args[a++] = op.burst ?? '';
      args[a++] = op.cost;
      args[a++] = '';
      args[a++] = '';
    } else {
      args[a++] = 'q';
      args[a++] = op.limit;
      args[a++] = op.windowMs;
      args[a++] = '';
      args[a++] = op.cost;
      args[a++] = op.lease?.id ?? '';
      args[a++] = op.lease?.ttlMs ?? '';
    }
  }
  return a;
}

/**
 * Gathers the acquires issued in one event-loop turn (everything that runs before the next
 * `process.nextTick`, promise continuations included) into script runs of `ACQUIRE_BATCH_LUA`: a run
 * leaves as soon as it holds `maxBatch` decisions, the last one of the turn at its end.
 * Every decision stays atomic and independent (the script runs them one after another, in call
 * order, each under its own `pcall`); each caller gets its own result or its own error. When the run
 * itself fails (connection, timeout, reply of the wrong shape), every caller of that run rejects.
 * Errors map as on every store call (`storeError`): a reply of Redis is `internal`, the rest
 * `dependency_unavailable`, the cause kept.
 *
 * With `alone` (a Cluster node's runs), what a run could not decide is decided again on its own,
 * where the client routes it: a decision that failed because the node cannot serve its key's slot
 * (another node owns it, no node serves it, the cluster is down), and every decision of a run Redis
 * refused as a whole (an error reply such as `CLUSTERDOWN`, so the script made none of them).
 * Neither wrote anything, so nothing is counted twice, and each such decision gets exactly the
 * outcome of an unbatched acquire: a cluster that is down is `dependency_unavailable`, not `internal`.
 */
export class AcquireBatcher {
  readonly #send: SendBatch;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #alone: DecideAlone | undefined;
  #queue: Pending[] = [];

  constructor(send: SendBatch, prefix: string, maxBatch = MAX_BATCH, alone?: DecideAlone) {
    this.#send = send;
    this.#prefix = prefix;
    this.#maxBatch = maxBatch;
    this.#alone = alone;
  }

  /** Queues one decision for the current run; `now` is its time, or '' for Redis `TIME`. */
  acquire(ops: readonly LimitOp[], now: string): Promise<AcquireResult> {
    return new Promise<AcquireResult>((resolve, reject) => {
      const queued = this.#queue.push({ ops, now, resolve, reject });
      if (queued === 1) process.nextTick(this.#flush);
      if (queued === this.#maxBatch) this.#flush();
    });
  }

  /** Sends the queued decisions, if any (a full run may have left before the turn ended). */
  readonly #flush = (): void => {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    this.#run(queue);
  };

  #run(batch: readonly Pending[]): void {
    let numKeys = 0;
    for (const p of batch) numKeys += p.ops.length;
    // KEYS, then per decision: its header and one argument per op (see ACQUIRE_BATCH_LUA).
    const args: (string | number)[] = new Array(numKeys + batch.length + numKeys);
    const prefix = this.#prefix;
    let k = 0;
    let a = numKeys;
    for (const p of batch) {
      const ops = p.ops;
      args[a++] = p.now === '' ? ops.length : `${ops.length},${p.now}`;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i] as LimitOp;
        args[k++] = prefix + op.key;
        args[a++] =
          op.type === 'rate'
            ? `r,${op.limit},${op.periodMs},${op.burst ?? ''},${op.cost},,`
            : `q,${op.limit},${op.windowMs},,${op.cost},${op.lease?.ttlMs ?? ''},${op.lease?.id ?? ''}`;
      }
    }
    this.#send(numKeys, args).then(
      (reply) => {
        if (!Array.isArray(reply) || reply.length !== batch.length) {
          failAll(batch, prefix, new Error(`unexpected reply to a batch of ${batch.length} acquires`));
          return;
        }
        const alone = this.#alone;
        for (let i = 0; i < batch.length; i++) {
          const p = batch[i] as Pending;
          const out = reply[i] as unknown;
          if (Array.isArray(out)) p.resolve(toAcquireResult(p.ops, out as Num[]));
          else if (alone && NOT_SERVED_HERE.test(String(out))) p.resolve(alone(p.ops, p.now));
          // A decision's own error, caught by its pcall: a reply of Redis, as unbatched.
          else p.reject(storeError('acquire', acquireKeys(p.ops, prefix), new ReplyError(String(out))));
        }
      },
      (error: unknown) => {
        const alone = this.#alone;
        if (alone && isReplyError(error)) for (const p of batch) p.resolve(alone(p.ops, p.now));
        else failAll(batch, prefix, error);
      },
    );
  }
}

function failAll(batch: readonly Pending[], prefix: string, cause: unknown): void {
  const operation = `acquire (one of a batch of ${batch.length})`;
  for (const p of batch) p.reject(storeError(operation, acquireKeys(p.ops, prefix), cause));
}

/** The Redis keys of one acquire, for its error message. */
export function acquireKeys(ops: readonly LimitOp[], prefix: string): string[] {
  return ops.map((op) => prefix + op.key);
}
