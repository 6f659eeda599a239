import {
  type AcquireResult,
  type Clock,
  type Cost,
  type LimitOp,
  type LimitResult,
  type LlmRequest,
  MemoryStore,
  type Principal,
  RelError,
  type RequestContext,
  type SettleEntry,
  type StateStore,
  type Usage,
  newId,
  systemClock,
} from '@rel/core';
import { type BudgetAlert, SpendAlerts } from './alerts';
import { type BudgetConfig, BudgetConfigSchema, type LimitName } from './config';
import { type BudgetLogger, type Pricer, createPricer } from './pricing';
import { PlanCache } from './plan-cache';
import { SettlementQueue } from './settlement-queue';
import { MICROS, type Slot, periodOf, remainingUsd, slotsOf } from './slots';
import { TokenEstimator } from './token-estimate';

export type { BudgetAlert } from './alerts';

/**
 * How a reservation was admitted: within every limit, with no limit configured, on a cheaper
 * route past a spend ceiling, or without the store (unreachable, and every limit fails open).
 */
export type BudgetDecision = 'allowed' | 'unlimited' | 'downgraded' | 'fail_open';

/** What `reserve` holds for one call until `settle` or `release`. */
export interface Reservation {
  readonly id: string;
  readonly model: string;
  readonly scopes: readonly string[];
  readonly decision: BudgetDecision;
  readonly estimate: {
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly costUsd: number;
    readonly method: 'tokenizer' | 'calibrated';
  };
  /** USD left under the tightest spend ceiling after this reservation, when one applies. */
  readonly remainingUsd: number | undefined;
  /**
   * What each limit has left after this reservation and when it is fully available again, as the
   * store decided (empty when no store decision was taken: `unlimited` or `fail_open`). Ready for
   * `X-RateLimit-Remaining` / `X-RateLimit-Reset` headers.
   */
  readonly limits: readonly LimitStatus[];
}

/** One limit's state after a decision. Spend limits count USD; the others requests or tokens. */
export interface LimitStatus {
  readonly scope: string;
  readonly limit: LimitName;
  readonly remaining: number;
  readonly resetMs: number;
}

/** The outcome of `settle`. */
export interface Settlement {
  readonly cost: Cost;
  /** What was charged to the spend windows, in USD (the cost rounded to micro-USD). */
  readonly chargedUsd: number;
  /** USD left under the tightest spend ceiling after the settlement, when known. */
  readonly remainingUsd: number | undefined;
}

/** Options of `BudgetPolicy` and `budget()`: the config plus the injected parts. */
export interface BudgetOptions extends BudgetConfig {
  /** Where limits live; default an in-process `MemoryStore`. Use `RedisStore` to share across instances. */
  store?: StateStore;
  /** For alert periods; default `systemClock`. (Limit decisions use the store's time.) */
  clock?: Clock;
  /** Called once per period per scope per threshold, as the `budget-alert` event is emitted. */
  onAlert?: (alert: BudgetAlert) => void;
  /** Called when the store fails, with the decision taken (telemetry hooks in here). */
  onStoreError?: (error: unknown, decision: 'fail_open' | 'fail_closed' | 'settle_deferred') => void;
  logger?: BudgetLogger;
  /** Replaces the input-token estimator (e.g. a provider's count-tokens endpoint behind a cache). */
  estimator?: TokenEstimator;
}

/**
 * One `reserve`'s state, made once per call: what every outcome's reservation shows (id, model,
 * scopes, estimate) and what `settle` and `release` need of it, kept out of its public fields.
 */
interface Held {
  /** The policy that made the reservation: another policy's reservation is ignored. */
  readonly owner: BudgetPolicy;
  readonly id: string;
  readonly model: string;
  readonly scopes: readonly string[];
  readonly estimate: Reservation['estimate'];
  readonly slots: readonly Slot[];
  /** How many of `slots` are settled (the length of the settlement's entries). */
  readonly settled: number;
  readonly ctx: RequestContext | undefined;
  readonly chars: number;
  readonly tag: string;
  done: boolean;
  /** What `settle` writes (set when it starts). */
  entries: SettleEntry[] | undefined;
}

/**
 * The steps of `reserve` and `settle` around their store calls, for the `budget` middleware,
 * which awaits the store itself: one async frame per request instead of three. Only for a policy
 * whose `reserve` and `settle` are this class's own (`isPlain`).
 * @internal
 */
export interface PolicySteps {
  /** True when `policy` does not override `reserve`, `settle` or `release`. */
  isPlain(policy: BudgetPolicy): boolean;
  /** `reserve` up to its store call: what it holds for `req`. */
  prepare(policy: BudgetPolicy, req: LlmRequest, ctx: RequestContext): Held;
  /** The ops to acquire for `held` (deferred settlements written ahead of them); none: no limit applies. */
  ops(policy: BudgetPolicy, held: Held): LimitOp[] | undefined;
  /**
   * `reserve` after its store call (`first`: its decision, or `fail_open` as `acquireFailed`
   * decided; `undefined`: there was none to make). A promise only for a refusal.
   */
  admit(
    policy: BudgetPolicy,
    held: Held,
    first: AcquireResult | 'fail_open' | undefined,
  ): Reservation | Promise<Reservation>;
  /** A failed acquire: `fail_open`, or throws `dependency_unavailable`. */
  acquireFailed(policy: BudgetPolicy, error: unknown, held: Held): 'fail_open';
  /**
   * `settle` up to its store call, without the `Settlement`: the held state, its entries to write,
   * or `undefined` when there is nothing to write (not this policy's, already ended, no entries).
   */
  charge(
    policy: BudgetPolicy,
    r: Reservation,
    usage: Usage,
    model: string | undefined,
    provider: string | undefined,
  ): Held | undefined;
  /** The entries `charge` left on `held`, written ahead of deferred settlements (see `#settle`). */
  entries(policy: BudgetPolicy, held: Held): SettleEntry[];
  /** A settlement write that failed: deferred, as `#settle` does. */
  deferred(policy: BudgetPolicy, error: unknown, held: Held): undefined;
  /** `settle` after its store call: the USD left (see `Settlement.remainingUsd`); a promise only when an alert is due. */
  charged(
    policy: BudgetPolicy,
    held: Held,
    totals: number[] | undefined,
  ): number | undefined | Promise<number | undefined>;
}

let steps: PolicySteps | undefined;

/**
 * A reservation as `reserve` returns it: the public fields, in the order of `Reservation`, and
 * its `Held` state in a private field, which a copy (`{ ...r }`), `JSON.stringify` or a structural
 * comparison never sees. (Not a `WeakMap` keyed by the reservation: a young key held by a
 * long-lived weak map survives the young-generation collections, so every request's reservation,
 * context and slots were promoted to the old generation; that was about half of budget's cost.)
 */
class HeldReservation implements Reservation {
  readonly id: string;
  readonly model: string;
  readonly scopes: readonly string[];
  readonly estimate: Reservation['estimate'];
  readonly decision: BudgetDecision;
  readonly remainingUsd: number | undefined;
  readonly limits: readonly LimitStatus[];
  readonly #held: Held;

  constructor(held: Held, decision: BudgetDecision, remaining: number | undefined, limits: readonly LimitStatus[]) {
    this.id = held.id;
    this.model = held.model;
    this.scopes = held.scopes;
    this.estimate = held.estimate;
    this.decision = decision;
    this.remainingUsd = remaining;
    this.limits = limits;
    this.#held = held;
  }

  /** The held state of `r` when `owner` made it, else `undefined` (a copy, or another policy's). */
  static heldOf(r: Reservation, owner: BudgetPolicy): Held | undefined {
    // As `WeakMap.get` was: anything but a reservation this policy returned (even a non-object) has none.
    if (typeof r !== 'object' || r === null || !(#held in r)) return undefined;
    const held = (r as HeldReservation).#held;
    return held.owner === owner ? held : undefined;
  }
}

const NOBODY: Principal = {};

/**
 * Rate limits, token limits, concurrency and spend ceilings per tier, org and user, with
 * reservation before a call and settlement after it, on any `StateStore`. `budget()` wraps it as a
 * middleware; use it directly around calls that are not `Handler`s.
 * @throws ZodError (naming the field) when the config is invalid.
 * @example
 * const policy = new BudgetPolicy({ tiers: { free: { rpm: 20, spendPerDayUsd: 1 } } });
 * const r = await policy.reserve(req, ctx);           // throws RelError when over a limit
 * try { const res = await call(); await policy.settle(r, res.usage, { model: res.model }); }
 * catch (e) { await policy.release(r); throw e; }
 */
export class BudgetPolicy {
  readonly store: StateStore;
  readonly #config: ReturnType<typeof BudgetConfigSchema.parse>;
  readonly #clock: Clock;
  readonly #pricer: Pricer;
  readonly #estimator: TokenEstimator;
  readonly #logger: BudgetLogger;
  readonly #onStoreError: BudgetOptions['onStoreError'];
  readonly #alerts: SpendAlerts;
  readonly #pending: SettlementQueue;
  readonly #ownsStore: boolean;
  readonly #plans: PlanCache;

  static {
    const own = BudgetPolicy.prototype;
    steps = {
      isPlain: (p) => p.reserve === own.reserve && p.settle === own.settle && p.release === own.release,
      prepare: (p, req, ctx) => p.#prepare(req, ctx),
      ops: (p, held) => {
        if (held.slots.length === 0) return undefined;
        p.#flushAhead();
        return opsOf(held.slots);
      },
      admit: (p, held, first) =>
        first === undefined ? p.#hold(held, 'unlimited', undefined, []) : p.#admit(held, first),
      acquireFailed: (p, error, held) => p.#acquireFailed(error, held.slots, held.tag, held.ctx),
      charge: (p, r, usage, model, provider) => {
        const cost = p.#pricer.price(modelsOf(model, r.model), usage, provider).cost;
        const held = p.#charge(r, usage, Math.round(cost.totalUsd * MICROS), cost);
        return held && (held.entries as SettleEntry[]).length > 0 ? held : undefined;
      },
      entries: (p, held) => {
        p.#flushAhead();
        return held.entries as SettleEntry[];
      },
      deferred: (p, error, held) => p.#deferred(error, held.id, held.entries as SettleEntry[], held),
      charged: (p, held, totals) => p.#charged(held, totals),
    };
  }

  constructor(options: BudgetOptions = {}) {
    const { store, clock, onAlert, onStoreError, logger, estimator, ...config } = options;
    this.#config = BudgetConfigSchema.parse(config);
    this.#plans = new PlanCache(this.#config);
    this.store = store ?? new MemoryStore();
    this.#ownsStore = !store;
    this.#clock = clock ?? systemClock;
    this.#logger = logger ?? console;
    this.#pricer = createPricer({
      prices: this.#config.prices,
      defaultPrice: this.#config.defaultPrice,
      logger: this.#logger,
    });
    this.#estimator = estimator ?? new TokenEstimator();
    this.#onStoreError = onStoreError;
    this.#alerts = new SpendAlerts({
      store: this.store,
      clock: this.#clock,
      keyPrefix: this.#config.keyPrefix,
      thresholds: this.#config.alerts,
      onAlert,
      logger: this.#logger,
    });
    this.#pending = new SettlementQueue({ store: this.store, clock: this.#clock, logger: this.#logger });
  }

  /** The pricer this policy charges with (config table, then genai-prices, then the default). */
  get pricer(): Pricer {
    return this.#pricer;
  }

  /**
   * Checks and takes every limit of the caller's scopes in one atomic store call, reserving the
   * estimated tokens (input estimate + `maxTokens`) and their cost until `settle` or `release`.
   * @throws RelError `quota_exceeded` (rates, tokens, concurrency) or `budget_exceeded` (spend;
   * only with `onCeiling: 'block'`), or `dependency_unavailable` (503) when the store is unreachable and a limit
   * involved fails closed.
   */
  async reserve(req: LlmRequest, ctx?: RequestContext): Promise<Reservation> {
    const held = this.#prepare(req, ctx);
    if (held.slots.length === 0) return this.#hold(held, 'unlimited', undefined, []);
    // `#acquire` inline: one async layer less on every request.
    this.#flushAhead();
    let first: AcquireResult | 'fail_open';
    try {
      first = await this.store.acquire(opsOf(held.slots));
    } catch (error) {
      first = this.#acquireFailed(error, held.slots, held.tag, ctx);
    }
    return this.#admit(held, first);
  }

  /** What `reserve` holds before its store call: the plan, estimate, cost and slots of `req`. */
  #prepare(req: LlmRequest, ctx: RequestContext | undefined): Held {
    const plan = this.#plans.get(ctx?.principal ?? NOBODY);
    const est = this.#estimator.estimate(req);
    const outputTokens = req.maxTokens ?? this.#config.defaultMaxTokens;
    const costUsd = this.#pricer.price(req.model, { inputTokens: est.tokens, outputTokens }).cost.totalUsd;
    const id = newId('lease');
    return {
      owner: this,
      id,
      model: req.model,
      scopes: plan.scopes,
      settled: plan.settled,
      estimate: { inputTokens: est.tokens, outputTokens, costUsd, method: est.method },
      slots: slotsOf(plan, id, est.tokens + outputTokens, Math.ceil(costUsd * MICROS)),
      ctx,
      chars: est.chars,
      tag: plan.resolved.tag,
      done: false,
      entries: undefined,
    };
  }

  /** The reservation once the store decided (or failed open); a refusal goes on in `#refused`. */
  #admit(held: Held, first: AcquireResult | 'fail_open'): Reservation | Promise<Reservation> {
    if (first === 'fail_open') return this.#hold(held, 'fail_open', undefined, []);
    const { slots } = held;
    if (first.allowed) {
      return this.#hold(held, 'allowed', remainingUsd(slots, first.results), statusOf(slots, first.results));
    }
    return this.#refused(held, first);
  }

  /** A refused acquire: a downgrade when only spend ceilings refused and the config says so, else the refusal. */
  async #refused(held: Held, first: AcquireResult): Promise<Reservation> {
    const { slots, tag, ctx } = held;
    const refused = slots.map((s, i) => [s, first.results[i] as LimitResult] as const).filter(([, r]) => !r.allowed);
    const spendOnly = refused.every(([s]) => s.settle === 'spend');
    if (spendOnly && this.#config.onCeiling === 'downgrade' && ctx) {
      const [slot] = refused[0] as (typeof refused)[number];
      ctx.requestDowngrade(slot.scope);
      const rest = slots.filter((s) => s.settle !== 'spend');
      const second = rest.length ? await this.#acquire(rest, tag, ctx) : { allowed: true, results: [] };
      if (second === 'fail_open' || second.allowed) {
        // Spend slots stay in the reservation without a lease: settle still charges the actual cost.
        const limits = second === 'fail_open' ? [] : statusOf(rest, second.results);
        return this.#hold(held, 'downgraded', undefined, limits);
      }
      throw this.#refusal(
        rest.map((s, i) => [s, second.results[i] as LimitResult] as const).filter(([, r]) => !r.allowed),
        ctx,
      );
    }
    const spent = new Map<Slot, number>();
    for (const [slot, result] of refused) {
      if (slot.settle !== 'spend') continue;
      // The refusal only says nothing remains; read what was actually spent (it may be past the limit).
      const total = await this.store.total(slot.key, slot.windowMs).catch(() => slot.limit - result.remaining);
      spent.set(slot, total);
      await this.#alerts.check(slot, total, tag, ctx, true);
    }
    throw this.#refusal(refused, ctx, spent);
  }

  #hold(
    held: Held,
    decision: BudgetDecision,
    remainingUsd: number | undefined,
    limits: readonly LimitStatus[],
  ): Reservation {
    const { ctx } = held;
    const r = new HeldReservation(held, decision, remainingUsd, limits);
    if (ctx) {
      ctx.setAttribute('rel.budget.decision', decision);
      ctx.setAttribute('rel.budget.store', this.store.name);
      if (remainingUsd !== undefined) ctx.setAttribute('rel.budget.remaining', remainingUsd);
    }
    return r;
  }

  /**
   * Ends a reservation with the call's actual usage: tokens and cost replace the estimates, the
   * cost is recorded on the context, and alerts fire for spend thresholds crossed. A store failure
   * here never fails the call: the charge is kept in process and written before the next store
   * call (or by `flush()`), never twice.
   * @param usage the billable usage of the call
   * @param actual the model (and provider) that answered, for pricing; default the requested model
   */
  async settle(
    reservation: Reservation,
    usage: Usage,
    actual: { model?: string; provider?: string } = {},
  ): Promise<Settlement> {
    const cost = this.#pricer.price(modelsOf(actual.model, reservation.model), usage, actual.provider).cost;
    const micros = Math.round(cost.totalUsd * MICROS);
    const held = this.#charge(reservation, usage, micros, cost);
    if (!held) return { cost, chargedUsd: micros / MICROS, remainingUsd: undefined };
    const totals = await this.#settle(reservation.id, held.entries as SettleEntry[], held);
    const remaining = this.#charged(held, totals);
    return {
      cost,
      chargedUsd: micros / MICROS,
      remainingUsd: typeof remaining === 'object' ? await remaining : remaining,
    };
  }

  /**
   * `settle` before its store call: ends `reservation` (when it is this policy's and still held),
   * records the cost, calibrates the estimator and leaves the entries to write on the held state.
   */
  #charge(reservation: Reservation, usage: Usage, micros: number, cost: Cost): Held | undefined {
    const held = HeldReservation.heldOf(reservation, this);
    if (!held || held.done) return undefined;
    held.done = true;
    held.ctx?.recordCost(cost);
    const tokens = usage.inputTokens + usage.outputTokens;
    this.#estimator.observe(reservation.model, held.chars, usage.inputTokens);
    const { slots } = held;
    const entries = new Array<SettleEntry>(held.settled);
    let n = 0;
    for (const s of slots) {
      if (!s.settle) continue;
      entries[n++] = {
        key: s.key,
        windowMs: s.windowMs,
        amount: s.settle === 'tokens' ? tokens : s.settle === 'spend' ? micros : 0,
      };
    }
    entries.length = n;
    held.entries = entries;
    return held;
  }

  /**
   * `settle` after its store call: the USD left under the tightest spend ceiling, set on the
   * context. A promise (of that figure) only when a spend alert is due and must be checked first.
   */
  #charged(held: Held, totals: number[] | undefined): number | undefined | Promise<number | undefined> {
    if (!totals) return undefined;
    // totals[i] is the total of the i-th settled slot (entries skip the rate slots).
    let i = -1;
    for (const slot of held.slots) {
      if (!slot.settle) continue;
      i++;
      if (slot.settle === 'spend' && this.#alerts.due(slot, totals[i] ?? 0, false)) return this.#alerting(held, totals);
    }
    const remaining = remainingOf(held, totals);
    if (remaining !== undefined) held.ctx?.setAttribute('rel.budget.remaining', remaining);
    return remaining;
  }

  /** `#charged` when an alert is due: each due spend slot's alerts checked in order, then the remaining set. */
  async #alerting(held: Held, totals: number[]): Promise<number | undefined> {
    let i = -1;
    for (const slot of held.slots) {
      if (!slot.settle) continue;
      i++;
      if (slot.settle !== 'spend') continue;
      const total = totals[i] ?? 0;
      if (this.#alerts.due(slot, total, false)) await this.#alerts.check(slot, total, held.tag, held.ctx, false);
    }
    const remaining = remainingOf(held, totals);
    if (remaining !== undefined) held.ctx?.setAttribute('rel.budget.remaining', remaining);
    return remaining;
  }

  /** Ends a reservation without a charge (the call failed or was cancelled before any usage). */
  async release(reservation: Reservation): Promise<void> {
    const held = HeldReservation.heldOf(reservation, this);
    if (!held || held.done) return;
    held.done = true;
    await this.#settle(reservation.id, releaseEntries(held.slots), held);
  }

  /** Settlements and releases deferred while the store was unreachable, still waiting to be written. */
  get pendingSettlements(): number {
    return this.#pending.size;
  }

  /**
   * Writes the settlements deferred while the store was unreachable now, instead of before the next
   * store call. Call it (or `close()`) on shutdown so no charge stays in process.
   * @throws the store's error when it is still unreachable; the settlements stay queued.
   * @example process.once('SIGTERM', () => void policy.flush().catch(() => {}));
   */
  async flush(): Promise<void> {
    await this.#pending.flush();
  }

  /**
   * Flushes deferred settlements and closes the store if this policy created it (a store passed in
   * is left open for its owner). Never throws: settlements the store still cannot take are logged
   * as a warning naming each key and amount, so they can be reconciled by hand.
   * @example
   * process.once('SIGTERM', async () => { await server.close(); await policy.close(); await store.close(); });
   */
  async close(): Promise<void> {
    try {
      await this.#pending.flush();
    } catch (error) {
      const lost = [...this.#pending.charges()].map(([key, amount]) =>
        /:spendPer(Day|Month)Usd$/.test(key) ? `${key} $${amount / MICROS}` : `${key} ${amount}`,
      );
      this.#logger.warn(
        `@rel/budget: closing with ${this.#pending.size} settlements the store could not take ` +
          `(${error instanceof Error ? error.message : String(error)}): ${lost.join(', ') || 'releases only'}`,
      );
    }
    if (this.#ownsStore) await this.store.close();
  }

  /** The store's decision on `slots`, or what its failure decides (`#acquireFailed`). */
  async #acquire(
    slots: readonly Slot[],
    tag: string,
    ctx: RequestContext | undefined,
  ): Promise<AcquireResult | 'fail_open'> {
    this.#flushAhead();
    try {
      return await this.store.acquire(opsOf(slots));
    } catch (error) {
      return this.#acquireFailed(error, slots, tag, ctx);
    }
  }

  /**
   * A failed `acquire`: `fail_open` when every limit involved fails open, else a deferred release of
   * the lease and a `dependency_unavailable` refusal.
   * @throws RelError `dependency_unavailable` when a limit fails closed.
   */
  #acquireFailed(error: unknown, slots: readonly Slot[], tag: string, ctx: RequestContext | undefined): 'fail_open' {
    const closed = slots.filter((s) => s.failMode === 'closed');
    const decision = closed.length ? 'fail_closed' : 'fail_open';
    ctx?.setAttribute('rel.budget.decision', decision);
    ctx?.setAttribute('rel.budget.store_error', error instanceof Error ? error.message : String(error));
    this.#onStoreError?.(error, decision);
    ctx?.events?.emit('store-error', { store: this.store.name, policy: 'budget', decision });
    if (decision === 'fail_open') return 'fail_open' as const;
    // The store may still run the timed-out acquire and take the lease after all (a stalled
    // Redis): a release queued behind it ends that lease as soon as the store answers again.
    // (A fail-open reservation ends its lease itself when it is settled or released.)
    const lease = slots.map((s) => (s.op.type === 'quota' ? s.op.lease : undefined)).find(Boolean);
    if (lease) this.#pending.defer({ id: lease.id, tag, entries: releaseEntries(slots) });
    const names = [...new Set(closed.map((s) => s.name))].join(', ');
    throw new RelError(
      { kind: 'dependency_unavailable', dependency: `${this.store.name} store` },
      { message: `budget store ${this.store.name} unreachable; refusing (fail-closed: ${names})`, cause: error },
    );
  }

  /** Writes a settlement (or release); `undefined` when the store failed and it was deferred. */
  #settle(id: string, entries: SettleEntry[], held: Held): Promise<number[] | undefined> {
    if (entries.length === 0) return Promise.resolve([]);
    this.#flushAhead();
    const deferred = (error: unknown): undefined => this.#deferred(error, id, entries, held);
    // Not an async function: the store's promise with its failure handled, one async layer less
    // on every request (a store that throws instead of rejecting is handled the same way).
    try {
      return this.store.settle(id, entries).then(undefined, deferred);
    } catch (error) {
      return Promise.resolve(deferred(error));
    }
  }

  /** A settlement (or release) the store failed to take: kept to be written before the next store call. */
  #deferred(error: unknown, id: string, entries: SettleEntry[], held: Held): undefined {
    this.#pending.defer({ id, tag: held.tag, entries });
    this.#onStoreError?.(error, 'settle_deferred');
    return undefined;
  }

  /**
   * Starts writing deferred settlements ahead of the next store call without waiting for them: a
   * store with one connection (or in process) applies them before that call, and one that cannot
   * take them no longer blocks it.
   */
  #flushAhead(): void {
    if (this.#pending.size > 0) this.#pending.flushInBackground();
  }

  #refusal(
    refused: ReadonlyArray<readonly [Slot, LimitResult]>,
    ctx: RequestContext | undefined,
    spent?: ReadonlyMap<Slot, number>,
  ): RelError {
    const retryAfterMs = Math.max(...refused.map(([, r]) => r.retryAfterMs));
    const spend = refused.find(([s]) => s.settle === 'spend');
    ctx?.setAttribute('rel.budget.decision', 'refused');
    if (spend) {
      const [slot, result] = spend;
      ctx?.setAttribute('rel.budget.remaining', result.remaining / MICROS);
      return new RelError(
        {
          kind: 'budget_exceeded',
          scope: `${slot.scope}:${periodOf(slot)}`,
          limitUsd: slot.limit / MICROS,
          spentUsd: (spent?.get(slot) ?? slot.limit - result.remaining) / MICROS,
          retryAfterMs,
        },
        { cause: result },
      );
    }
    const [slot, result] = refused[0] as readonly [Slot, LimitResult];
    return new RelError(
      { kind: 'quota_exceeded', scope: slot.scope, limit: slot.name, retryAfterMs },
      { cause: result },
    );
  }
}

/** USD left under the tightest spend ceiling of `held` after a settlement's `totals`. */
function remainingOf(held: Held, totals: readonly number[]): number | undefined {
  let remaining: number | undefined;
  let i = -1;
  for (const slot of held.slots) {
    if (!slot.settle) continue;
    i++;
    if (slot.settle !== 'spend') continue;
    const left = Math.max(0, slot.limit - (totals[i] ?? 0)) / MICROS;
    remaining = remaining === undefined ? left : Math.min(remaining, left);
  }
  return remaining;
}

/**
 * The steps of the `budget` middleware (see `PolicySteps`).
 * @internal
 */
export function policySteps(): PolicySteps {
  return steps as PolicySteps;
}

/** The store ops of `slots`, in order. */
function opsOf(slots: readonly Slot[]): LimitOp[] {
  const ops: LimitOp[] = new Array(slots.length);
  for (let i = 0; i < slots.length; i++) ops[i] = (slots[i] as Slot).op;
  return ops;
}

/** Entries that end a lease on every leased slot without charging anything. */
function releaseEntries(slots: readonly Slot[]): SettleEntry[] {
  const entries: SettleEntry[] = [];
  for (const s of slots) if (s.settle) entries.push({ key: s.key, windowMs: s.windowMs, amount: 0 });
  return entries;
}

function statusOf(slots: readonly Slot[], results: readonly LimitResult[]): LimitStatus[] {
  const out: LimitStatus[] = new Array(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i] as Slot;
    const r = results[i];
    const remaining = r?.remaining ?? 0;
    out[i] = {
      scope: s.scope,
      limit: s.name,
      remaining: s.settle === 'spend' ? remaining / MICROS : remaining,
      resetMs: r?.resetMs ?? 0,
    };
  }
  return out;
}

/**
 * The models to price a settlement by, in order: the one that answered, then the one requested
 * (`[actual, requested]` without the absent or empty ones); one string when that is all there is.
 */
function modelsOf(actual: string | undefined, requested: string): string | readonly string[] {
  if (!actual) return requested ? requested : [];
  return requested && requested !== actual ? [actual, requested] : actual;
}
