import { type Abortable, abortableOf, isAbortable } from './abortable';
import { type Clock, systemClock } from './clock';
import type { EventHub, FallbackReason, GuardrailAction, GuardrailStage } from './events';
import type { FailureKind } from './failure';
import { type Usage, addUsage, zeroUsage } from './response';

/**
 * Why a request got a degraded answer or a safe default: the failure that made the routes give
 * up, or `forced` when an operator put the feature in degraded mode (no route was called).
 */
export type DegradeReason = FailureKind | 'forced';

/** Who is calling. Ids are opaque; telemetry hashes `userId` before exporting it. */
export interface Principal {
  readonly userId?: string;
  readonly orgId?: string;
  readonly tier?: string;
}

/** The product feature a request serves; non-critical features may be degraded instead of failing. */
export interface Feature {
  readonly name: string;
  readonly critical: boolean;
}

/** One call to a provider target. */
export interface AttemptRecord {
  /** The route target, e.g. `openai:gpt-4o`. */
  readonly target: string;
  readonly model: string;
  /** 1-based, counting every attempt of the logical request (retries, hedges and fallbacks). */
  readonly number: number;
  readonly outcome: 'success' | 'failure';
  readonly failure?: FailureKind;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly hedge?: boolean;
}

export interface FallbackRecord {
  readonly from: string;
  readonly to: string;
  readonly reason: FallbackReason;
  readonly at: number;
}

export interface GuardrailVerdict {
  readonly name: string;
  readonly stage: GuardrailStage;
  readonly action: GuardrailAction;
  readonly categories: readonly string[];
  readonly score?: number;
  readonly latencyMs: number;
}

/** Cost in USD, split as the price tables split it. */
export interface Cost {
  readonly inputUsd: number;
  readonly outputUsd: number;
  readonly totalUsd: number;
}

export interface RequestContextInit {
  requestId?: string;
  idempotencyKey?: string;
  principal?: Principal;
  feature?: Feature;
  /** The operation or endpoint, e.g. `chat`; timeouts are configured per operation. */
  operation?: string;
  /** Cancels the request: a signal, or an `Abortable` whose signal is made only if read. */
  signal?: AbortSignal | Abortable;
  /** Absolute deadline in clock milliseconds. */
  deadline?: number;
  clock?: Clock;
  events?: EventHub;
}

/** What all contexts derived from one logical request share. */
interface Records {
  attempts: AttemptRecord[];
  fallbacks: FallbackRecord[];
  verdicts: GuardrailVerdict[];
  usage: Usage;
  cost: Cost;
  attributes: Map<string, unknown>;
  degraded?: { reason: DegradeReason };
  downgrade?: { scope: string };
  safeDefault?: { reason: DegradeReason };
  attemptCounter: number;
}

const noop = () => {};

/** The ASCII codes of the two lowercase hex digits of each byte value. */
const HEX_CODES = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const hex = b.toString(16).padStart(2, '0');
  HEX_CODES[2 * b] = hex.charCodeAt(0);
  HEX_CODES[2 * b + 1] = hex.charCodeAt(1);
}
/** Random bytes drawn ahead from the platform CSPRNG, 12 per id, refilled when used up. */
const ID_POOL = new Uint8Array(12 * 256);
let idAt = ID_POOL.length;
/** Character codes of an id being built, one reused array per id length (a prefix has one length). */
const ID_CODES: number[][] = [];

/**
 * A random id, `prefix_` plus 24 hex characters: the first 24 hex digits of a random UUID v4
 * (version digit `4`, variant digit `8`-`b`, 90 random bits), as `crypto.randomUUID()` would give,
 * from the same cryptographic source (`crypto.getRandomValues`), every byte used once. Request ids
 * and idempotency keys must not be guessable or collide across processes, so this is no counter;
 * it is about a quarter of the cost of cutting a `randomUUID()`, the bytes drawn 256 ids at a time.
 * The id is one flat string (made from its character codes at once, not concatenated): ids are kept
 * as map keys (spans in flight, settled leases), where a concatenation tree would hold a dozen heap
 * objects, ~370 bytes, instead of one of ~60.
 * @param prefix what the id names, e.g. `req`
 * @example newId('req') // 'req_3f9c0a1b7d2e4c5f8a9b0c1d'
 */
export function newId(prefix: string): string {
  if (idAt === ID_POOL.length) {
    crypto.getRandomValues(ID_POOL);
    idAt = 0;
  }
  const p = ID_POOL;
  const i = idAt;
  idAt += 12;
  p[i + 6] = ((p[i + 6] as number) & 0x0f) | 0x40; // version 4
  p[i + 8] = ((p[i + 8] as number) & 0x3f) | 0x80; // variant 10
  const n = prefix.length;
  // A long prefix is joined as a string; the rest of the id is built from codes either way.
  const whole = n <= ID_MAX_PREFIX;
  const at = whole ? n : 0;
  const length = at + 25;
  let codes = ID_CODES[length];
  if (codes === undefined) ID_CODES[length] = codes = new Array<number>(length).fill(0);
  for (let k = 0; k < at; k++) codes[k] = prefix.charCodeAt(k);
  codes[at] = 0x5f; // _
  for (let k = 0; k < 12; k++) {
    const b = p[i + k] as number;
    codes[at + 1 + 2 * k] = HEX_CODES[2 * b] as number;
    codes[at + 2 + 2 * k] = HEX_CODES[2 * b + 1] as number;
  }
  // One flat string from the codes (a prefix outside Latin-1 makes it two-byte, still flat).
  const id = String.fromCharCode.apply(null, codes);
  return whole ? id : prefix + id;
}

/** Longest prefix built into the id's codes; a longer one is concatenated. */
const ID_MAX_PREFIX = 64;

/**
 * The state of one logical request as it travels through the middlewares.
 *
 * Recording is done through explicit recorder methods (`recordAttempt`, `recordUsage`, ...) on a
 * context whose records are shared by every context derived from it, rather than through immutable
 * copies. The reason is streaming and hedging: a stream's usage arrives after the handler returned,
 * and two hedged attempts run at once, so an inner middleware must be able to record into the one
 * request after the fact, where an immutable copy returned up the stack would be lost. Identity
 * fields (ids, principal, feature) are read-only; `derive` makes a child with a narrower signal or
 * deadline for one attempt while sharing every record.
 *
 * @example
 * const ctx = new RequestContext({ principal: { orgId: 'acme', tier: 'pro' } });
 * ctx.recordUsage({ inputTokens: 12, outputTokens: 40 });
 * ctx.usage.outputTokens // 40
 */
export class RequestContext implements Abortable {
  readonly requestId: string;
  /** Identical on every attempt and hedge of this logical request; providers send it as `Idempotency-Key`. */
  readonly idempotencyKey: string;
  readonly principal: Principal;
  readonly feature: Feature;
  readonly operation: string;
  readonly deadline: number | undefined;
  readonly clock: Clock;
  readonly events: EventHub | undefined;
  /** The attempt number this context was derived for, when it was derived for one. */
  readonly attempt: number | undefined;
  readonly #records: Records;
  /** What cancels this context when it was given its own signal. */
  readonly #source: Abortable | undefined;
  /** The context this one was derived from without a signal of its own: its signal is the parent's. */
  readonly #parent: RequestContext | undefined;
  /** The signal, once read. */
  #signal: AbortSignal | undefined;

  /**
   * @param init identity, signal and deadline of a new logical request; omitted ids are generated.
   * `records`, `attempt` and `from` are for `derive`: a derived context takes its identity from `from`.
   */
  constructor(init: RequestContextInit = {}, records?: Records, attempt?: number, from?: RequestContext) {
    if (from) {
      this.requestId = from.requestId;
      this.idempotencyKey = from.idempotencyKey;
      this.principal = from.principal;
      this.feature = from.feature;
      this.operation = from.operation;
      this.clock = from.clock;
      this.events = from.events;
    } else {
      this.requestId = init.requestId ?? newId('req');
      this.idempotencyKey = init.idempotencyKey ?? newId('idem');
      this.principal = init.principal ?? {};
      this.feature = init.feature ?? { name: 'default', critical: true };
      this.operation = init.operation ?? 'chat';
      this.clock = init.clock ?? systemClock;
      this.events = init.events;
    }
    const given = init.signal;
    this.#source = given === undefined ? undefined : isAbortable(given) ? given : abortableOf(given);
    this.#parent = given === undefined ? from : undefined;
    this.deadline = init.deadline;
    this.attempt = attempt;
    this.#records = records ?? {
      attempts: [],
      fallbacks: [],
      verdicts: [],
      usage: zeroUsage,
      cost: { inputUsd: 0, outputUsd: 0, totalUsd: 0 },
      attributes: new Map(),
      attemptCounter: 0,
    };
  }

  /**
   * A child context for one attempt or phase: same records, same ids, a narrower signal and/or
   * deadline. A deadline never widens: the earlier of the two is kept.
   */
  derive(overrides: { signal?: AbortSignal | Abortable; deadline?: number; attempt?: number }): RequestContext {
    const init: RequestContextInit = {};
    if (overrides.signal) init.signal = overrides.signal;
    if (overrides.deadline !== undefined) {
      init.deadline = this.deadline === undefined ? overrides.deadline : Math.min(this.deadline, overrides.deadline);
    } else if (this.deadline !== undefined) init.deadline = this.deadline;
    return new RequestContext(init, this.#records, overrides.attempt ?? this.attempt, this);
  }

  /**
   * Aborts when the caller or an enclosing policy gives up on this request or attempt. Without a
   * signal given, a context's signal never aborts. It is made only when first read (an
   * AbortController costs about as much as the rest of the context), so code that only needs to
   * know about cancellation uses `aborted` and `onAbort`; a context derived without a signal of
   * its own has its parent's.
   */
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      const source = this.#source;
      if (source !== undefined) this.#signal = source.signal;
      else this.#signal = this.#parent ? this.#parent.signal : new AbortController().signal;
    }
    return this.#signal;
  }

  /** True once the request or attempt has been cancelled (`signal.aborted`, without making the signal). */
  get aborted(): boolean {
    if (this.#source !== undefined) return this.#source.aborted;
    return this.#parent?.aborted === true;
  }

  /**
   * Calls `listener` once when this context aborts, without making its signal; not called when it
   * has already aborted (check `aborted` first). A context that can never abort keeps no listener.
   * @returns the function that removes the listener.
   * @example const stop = ctx.onAbort(() => upstream.destroy()); try { ... } finally { stop(); }
   */
  onAbort(listener: () => void): () => void {
    if (this.#source !== undefined) return this.#source.onAbort(listener);
    return this.#parent ? this.#parent.onAbort(listener) : noop;
  }

  /** Milliseconds left before the deadline; `Infinity` without one. */
  remainingMs(): number {
    return this.deadline === undefined ? Number.POSITIVE_INFINITY : this.deadline - this.clock.now();
  }

  /** Reserves the next attempt number (1-based) for this logical request. */
  nextAttemptNumber(): number {
    this.#records.attemptCounter += 1;
    return this.#records.attemptCounter;
  }

  get attempts(): readonly AttemptRecord[] {
    return this.#records.attempts;
  }
  get fallbacks(): readonly FallbackRecord[] {
    return this.#records.fallbacks;
  }
  get verdicts(): readonly GuardrailVerdict[] {
    return this.#records.verdicts;
  }
  /** Billable usage accumulated over every completion of this request (re-asks included). */
  get usage(): Usage {
    return this.#records.usage;
  }
  get cost(): Cost {
    return this.#records.cost;
  }
  get degraded(): { readonly reason: DegradeReason } | undefined {
    return this.#records.degraded;
  }
  get safeDefault(): { readonly reason: DegradeReason } | undefined {
    return this.#records.safeDefault;
  }

  recordAttempt(record: AttemptRecord): void {
    this.#records.attempts.push(record);
  }
  recordFallback(record: FallbackRecord): void {
    this.#records.fallbacks.push(record);
  }
  recordVerdict(verdict: GuardrailVerdict): void {
    this.#records.verdicts.push(verdict);
  }
  /** Adds the usage of one finished completion. Provider adapters call this; nobody else should. */
  recordUsage(usage: Usage): void {
    this.#records.usage = addUsage(this.#records.usage, usage);
  }
  /** Adds a cost, computed by whoever prices the usage (the budget policy). */
  recordCost(cost: Cost): void {
    const c = this.#records.cost;
    this.#records.cost = {
      inputUsd: c.inputUsd + cost.inputUsd,
      outputUsd: c.outputUsd + cost.outputUsd,
      totalUsd: c.totalUsd + cost.totalUsd,
    };
  }
  /**
   * Asks the routing layer to serve this request from a cheaper route (a budget near its ceiling
   * does this). Routing reads `downgrade` and records a `budget_downgrade` fallback.
   */
  requestDowngrade(scope: string): void {
    this.#records.downgrade = { scope };
  }
  get downgrade(): { readonly scope: string } | undefined {
    return this.#records.downgrade;
  }
  markDegraded(reason: DegradeReason): void {
    this.#records.degraded = { reason };
  }
  markSafeDefault(reason: DegradeReason): void {
    this.#records.safeDefault = { reason };
  }

  /** The open attribute bag, for facts no field covers. Values must hold no prompt text or PII. */
  setAttribute(key: string, value: unknown): void {
    this.#records.attributes.set(key, value);
  }
  getAttribute<T = unknown>(key: string): T | undefined {
    return this.#records.attributes.get(key) as T | undefined;
  }
  get attributes(): ReadonlyMap<string, unknown> {
    return this.#records.attributes;
  }
}
