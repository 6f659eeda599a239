/// <reference path="./cluster-key-slot.d.ts" />
import type { AcquireResult, LimitOp } from '@rel/core';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { AcquireBatcher, type DecideAlone } from './acquire-batcher';
import type { LuaScript } from './lua-script';
import { isReplyError } from './store-error';

/** The error replies of a server that cannot run the batch script at all (before Redis 7, say). */
const CANNOT_RUN = /compiling script|shebang/i;

/**
 * Batches acquires on a Redis Cluster: one `AcquireBatcher` per master node, each run one
 * `ACQUIRE_BATCH_CLUSTER_LUA` script on that node for the decisions of one event-loop turn whose
 * keys it serves, whichever of its slots they sit in. The node of a decision is the client's slot
 * map's master for its keys' slot. A decision goes on its own (`alone`, where the client routes it)
 * when its keys span slots (Redis then refuses it with CROSSSLOT, as unbatched), when the client
 * has no slot map yet, and when a run could not make it (the node no longer serves its slot: see
 * `AcquireBatcher`). A server that cannot run the script (an error compiling it, as before Redis 7)
 * turns batching off for good, and each decision goes alone.
 */
export class ClusterAcquireBatcher {
  readonly #cluster: Cluster;
  readonly #script: LuaScript;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #alone: DecideAlone;
  readonly #nodes = new Map<string, AcquireBatcher>();
  #off = false;

  /**
   * @param prefix the store's key prefix (the client's own `keyPrefix` is added as ioredis adds it).
   * @param script the batch script; tests pass another to see a server refuse it.
   */
  constructor(cluster: Cluster, prefix: string, maxBatch: number, alone: DecideAlone, script: LuaScript) {
    this.#cluster = cluster;
    this.#prefix = prefix;
    this.#maxBatch = maxBatch;
    this.#alone = alone;
    this.#script = script;
  }

  /** Whether runs still go out batched (false once a server could not run the script). */
  get batching(): boolean {
    return !this.#off;
  }

  /** Queues one decision on its node's run; `now` is its time, or '' for Redis `TIME`. */
  acquire(ops: readonly LimitOp[], now: string): Promise<AcquireResult> {
    if (this.#off) return this.#alone(ops, now);
    const clientPrefix = this.#cluster.options.keyPrefix ?? '';
    const head = clientPrefix + this.#prefix;
    const slot = calculateSlot(head + (ops[0] as LimitOp).key);
    for (let i = 1; i < ops.length; i++) {
      if (calculateSlot(head + (ops[i] as LimitOp).key) !== slot) return this.#alone(ops, now);
    }
    const node = this.#cluster.slots[slot]?.[0];
    if (node === undefined) return this.#alone(ops, now);
    let batcher = this.#nodes.get(node);
    if (batcher === undefined) {
      batcher = new AcquireBatcher(this.#send(clientPrefix), this.#prefix, this.#maxBatch, this.#alone);
      this.#nodes.set(node, batcher);
    }
    return batcher.acquire(ops, now);
  }

  /**
   * One run on the node that owns the first key's slot: that key declared (ioredis routes by it and
   * adds its `keyPrefix`), every key in ARGV with the client's prefix added by hand.
   */
  #send(clientPrefix: string) {
    return (numKeys: number, args: (string | number)[]): Promise<unknown> => {
      const argv: (string | number)[] = new Array(args.length + 2);
      argv[0] = args[0] as string;
      argv[1] = numKeys;
      for (let i = 0; i < numKeys; i++) argv[i + 2] = clientPrefix + (args[i] as string);
      for (let i = numKeys; i < args.length; i++) argv[i + 2] = args[i] as string | number;
      return this.#script.run(this.#cluster, 1, argv).catch((error: unknown) => {
        if (isReplyError(error) && CANNOT_RUN.test(error.message)) this.#off = true;
        throw error;
      });
    };
  }
}
