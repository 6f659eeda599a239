import {
  type BreakerState,
  type Clock,
  type EventHub,
  RelError,
  type StateStore,
  isAbortError,
  systemClock,
} from '@rel/core';
import {
  type BreakerConfig,
  type BreakerOptions,
  BreakerOptionsSchema,
  type WindowCounts,
  shouldTrip,
} from './breaker-options';
import { StoreBreakerState } from './breaker-state-store';
import { parseOptions } from './parse-options';
import { SlidingWindow } from './sliding-window';

/**
 * What the breaker decided for one call: `pass` (closed), `probe` (one of the bounded half-open
 * probes) or `reject` (open, or half-open with every probe slot taken).
 */
export type Admission = 'pass' | 'probe' | 'reject';

/** How one admitted call ended, as the breaker counts it; `ignored` (a cancellation) counts neither way. */
export type CallOutcome = 'success' | 'failure' | 'ignored';

/** Options of `CircuitBreaker`: the trip configuration plus its collaborators. */
export interface CircuitBreakerOptions extends BreakerOptions {
  /** Named in events and in `circuit_open` failures, usually the route target. Default `breaker`. */
  name?: string;
  clock?: Clock;
  /** Receives `breaker-state` events on every transition this instance makes. */
  events?: EventHub;
  /**
   * Shares the state between instances (several gateway processes) through this store; each
   * decision then costs store round trips. Without it the state lives in memory.
   */
  store?: StateStore;
  /** Store key prefix; instances with the same key share one breaker. Default `rel:breaker:<name>`. */
  key?: string;
  /**
   * Whether an error counts as a failure. Default: a `RelError` of kind `provider_unavailable`,
   * `timeout`, `provider_error` or `stream_interrupted`, and any error that is not a `RelError`.
   * Other failures (a 400, a content filter) prove the target answered and count as successes;
   * cancellations are never counted.
   */
  isFailure?: (error: unknown) => boolean;
  /**
   * Called when the store fails. The breaker then decides from the state it last saw (an open
   * breaker keeps refusing until `openMs` has passed; otherwise calls pass) and drops the outcome
   * it could not count, so an unreachable store never fails a request. Also emitted as a
   * `store-error` event. Manual controls and `refresh` still throw.
   */
  onStoreError?: (error: unknown) => void;
}

const FAILURE_KINDS: ReadonlySet<string> = new Set([
  'provider_unavailable',
  'timeout',
  'provider_error',
  'stream_interrupted',
]);

/** The default failure test of a breaker (see `CircuitBreakerOptions.isFailure`). */
export function isBreakerFailure(error: unknown): boolean {
  return RelError.is(error) ? FAILURE_KINDS.has(error.failure.kind) : true;
}

const neverAborted = new AbortController().signal;

/**
 * A circuit breaker per target: trips on consecutive failures, on a failure rate or on a slow-call
 * rate over a sliding window; stays open for `openMs`; then lets a bounded number of probes
 * through (half-open) and closes only when enough of them succeed. Every transition emits a
 * `breaker-state` event. Without a store the closed-state path allocates nothing.
 *
 * Usable alone around any async function with `execute`, or step by step (`enter`, then `record`)
 * by callers such as the router whose calls end later than they return (streams).
 *
 * @example
 * const breaker = new CircuitBreaker({ name: 'openai', failureRate: { threshold: 0.5, windowMs: 10_000, minimumCalls: 10 } });
 * const answer = await breaker.execute((signal) => fetch(url, { signal }), ctx.signal);
 * breaker.forceOpen(); // incident: stop sending traffic
 */
export class CircuitBreaker {
  readonly name: string;
  readonly config: BreakerConfig;
  readonly #clock: Clock;
  readonly #events: EventHub | undefined;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #onStoreError: ((error: unknown) => void) | undefined;
  readonly #storeName: string;
  readonly #shared: StoreBreakerState | undefined;
  readonly #failureWindow: SlidingWindow | undefined;
  readonly #slowWindow: SlidingWindow | undefined;
  readonly #failureCounts: WindowCounts = { calls: 0, failures: 0, slow: 0 };
  readonly #slowCounts: WindowCounts = { calls: 0, failures: 0, slow: 0 };
  readonly #successesToClose: number;
  #state: BreakerState = 'closed';
  #forced = false;
  #openedAt: number | undefined;
  #halfOpenAt = 0;
  #consecutive = 0;
  #probes = 0;
  #probeSuccesses = 0;

  /** @throws RelError `invalid_request` naming the bad option. */
  constructor(options: CircuitBreakerOptions = {}) {
    const { name, clock, events, store, key, isFailure, onStoreError, ...rest } = options;
    this.config = parseOptions(BreakerOptionsSchema, rest, 'breaker');
    this.name = name ?? 'breaker';
    this.#clock = clock ?? systemClock;
    this.#events = events;
    this.#isFailure = isFailure ?? isBreakerFailure;
    this.#onStoreError = onStoreError;
    this.#storeName = store?.name ?? 'memory';
    this.#successesToClose = this.config.halfOpen.successesToClose ?? this.config.halfOpen.maxProbes;
    if (this.config.failureRate) this.#failureWindow = new SlidingWindow(this.config.failureRate.windowMs);
    if (this.config.slowCallRate) this.#slowWindow = new SlidingWindow(this.config.slowCallRate.windowMs);
    this.#shared = store
      ? new StoreBreakerState(store, key ?? `rel:breaker:${this.name}`, this.config, {
          observe: (state, openedAt, forced) => {
            this.#state = state;
            this.#openedAt = openedAt;
            this.#forced = forced;
          },
          transition: (from, to, reason) => this.#emit(from, to, reason),
        })
      : undefined;
  }

  /** The state as this instance last saw it (with a store: as of its last decision or `refresh`). */
  get state(): BreakerState {
    return this.#state;
  }

  /** Clock time the breaker last opened, while it is open or half-open. */
  get openedAt(): number | undefined {
    return this.#openedAt;
  }

  /** True while a manual `forceOpen` or `forceClose` holds the state. */
  get forced(): boolean {
    return this.#forced;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when it would now; Infinity when forced open). */
  retryAfterMs(): number {
    if (this.#state !== 'open') return 0;
    if (this.#forced) return Number.POSITIVE_INFINITY;
    return Math.max(0, (this.#openedAt ?? 0) + this.config.openMs - this.#clock.now());
  }

  /**
   * Runs `fn` through the breaker.
   * @throws RelError `circuit_open` when the breaker refuses the call; otherwise what `fn` throws.
   */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal = neverAborted): Promise<T> {
    const admission = this.#shared ? await this.#enterShared(this.#shared) : this.#enterLocal();
    if (admission === 'reject') throw this.openError();
    const start = this.#clock.now();
    let value: T;
    try {
      value = await fn(signal);
    } catch (error) {
      const pending = this.record(admission, this.classify(error, signal), this.#clock.now() - start);
      if (pending) await pending;
      throw error;
    }
    // In memory `record` is synchronous: no extra promise on the hot path.
    const pending = this.record(admission, 'success', this.#clock.now() - start);
    if (pending) await pending;
    return value;
  }

  /**
   * Decides whether one call may go through; pair every non-`reject` admission with one `record`.
   * Returns a promise only when the state lives in a store.
   */
  enter(): Admission | Promise<Admission> {
    return this.#shared ? this.#enterShared(this.#shared) : this.#enterLocal();
  }

  async #enterShared(shared: StoreBreakerState): Promise<Admission> {
    try {
      return await shared.enter(this.#clock.now());
    } catch (error) {
      // Decide from the state last seen: a known-open breaker keeps refusing, anything else passes.
      const refuse = this.#state === 'open' && this.retryAfterMs() > 0;
      this.#storeFailed(error, refuse ? 'fail_closed' : 'fail_open');
      return refuse ? 'reject' : 'pass';
    }
  }

  async #recordShared(
    shared: StoreBreakerState,
    admission: Admission,
    outcome: CallOutcome,
    slow: boolean,
  ): Promise<void> {
    try {
      await shared.record(admission, outcome, slow, this.#clock.now());
    } catch (error) {
      this.#storeFailed(error, 'fail_open');
    }
  }

  #storeFailed(error: unknown, decision: 'fail_open' | 'fail_closed'): void {
    this.#onStoreError?.(error);
    if (this.#events?.has('store-error'))
      this.#events.emit('store-error', { store: this.#storeName, policy: 'breaker', decision });
  }

  #enterLocal(): Admission {
    if (this.#state === 'closed') return 'pass';
    if (this.#state === 'open') {
      if (this.#forced || this.#clock.now() - (this.#openedAt ?? 0) < this.config.openMs) return 'reject';
      this.#probes = 0;
      this.#probeSuccesses = 0;
      this.#halfOpenAt = this.#clock.now();
      this.#move('half_open', 'open_timeout_elapsed');
    }
    if (this.#probes >= this.config.halfOpen.maxProbes) {
      if (this.#clock.now() - this.#halfOpenAt >= this.config.halfOpen.probeTimeoutMs) this.#open('probe_timeout');
      return 'reject';
    }
    this.#probes++;
    return 'probe';
  }

  /**
   * Counts how an admitted call ended. Returns a promise only when the state lives in a store.
   * @param durationMs how long the call took, for the slow-call rate.
   */
  record(admission: Admission, outcome: CallOutcome, durationMs: number): void | Promise<void> {
    if (admission === 'reject') return;
    const slow = this.config.slowCallRate !== undefined && durationMs >= this.config.slowCallRate.slowCallMs;
    if (this.#shared) return this.#recordShared(this.#shared, admission, outcome, slow);
    if (admission === 'probe') return this.#recordProbe(outcome, slow);
    if (this.#state !== 'closed' || outcome === 'ignored') return;
    if (outcome === 'success' && this.#failureWindow === undefined && this.#slowWindow === undefined) {
      // All a success changes without windows is the failure streak (which then cannot trip).
      this.#consecutive = 0;
      return;
    }
    const failed = outcome === 'failure';
    const now = this.#clock.now();
    this.#consecutive = failed ? this.#consecutive + 1 : 0;
    this.#failureWindow?.record(now, failed, slow);
    this.#slowWindow?.record(now, failed, slow);
    if (this.#forced) return;
    const reason = shouldTrip(
      this.config,
      this.#consecutive,
      this.#failureWindow?.read(now, this.#failureCounts),
      this.#slowWindow?.read(now, this.#slowCounts),
    );
    if (reason !== undefined) this.#open(reason);
  }

  /** How `execute` classifies an error: cancellations are ignored, then `isFailure` decides. */
  classify(error: unknown, signal?: AbortSignal): CallOutcome {
    if (signal?.aborted || isAbortError(error) || (RelError.is(error) && error.failure.kind === 'cancelled'))
      return 'ignored';
    return this.#isFailure(error) ? 'failure' : 'success';
  }

  /** The failure a refused call gets. */
  openError(): RelError {
    const wait = this.retryAfterMs();
    return new RelError({
      kind: 'circuit_open',
      target: this.name,
      ...(Number.isFinite(wait) ? { retryAfterMs: wait } : {}),
    });
  }

  /** Incident control: opens the breaker and keeps it open (no probes) until `forceClose` or `reset`. */
  forceOpen(): Promise<void> {
    return this.#manual('open', true, 'forced_open');
  }

  /** Incident control: closes the breaker and keeps it closed whatever fails, until `forceOpen` or `reset`. */
  forceClose(): Promise<void> {
    return this.#manual('closed', true, 'forced_closed');
  }

  /** Back to closed with every counter cleared and no manual hold. */
  reset(): Promise<void> {
    return this.#manual('closed', false, 'reset');
  }

  /** Reads the shared state from the store (no-op in memory) and returns it. */
  async refresh(): Promise<BreakerState> {
    if (this.#shared) await this.#shared.read();
    return this.#state;
  }

  async #manual(to: BreakerState, forced: boolean, reason: string): Promise<void> {
    if (this.#shared) return this.#shared.manual(to, forced, reason, this.#clock.now());
    this.#clear();
    this.#forced = forced;
    if (to === 'open') this.#openedAt = this.#clock.now();
    else this.#openedAt = undefined;
    this.#move(to, reason);
  }

  #recordProbe(outcome: CallOutcome, slow: boolean): void {
    if (this.#state !== 'half_open') return;
    if (outcome === 'ignored') {
      this.#probes--;
      return;
    }
    if (outcome === 'failure' || slow) {
      this.#open(slow && outcome !== 'failure' ? 'probe_slow' : 'probe_failed');
      return;
    }
    if (++this.#probeSuccesses >= this.#successesToClose) {
      this.#clear();
      this.#openedAt = undefined;
      this.#move('closed', 'probes_succeeded');
    }
  }

  #open(reason: string): void {
    this.#openedAt = this.#clock.now();
    this.#move('open', reason);
  }

  #clear(): void {
    this.#consecutive = 0;
    this.#probes = 0;
    this.#probeSuccesses = 0;
    this.#failureWindow?.clear();
    this.#slowWindow?.clear();
  }

  #move(to: BreakerState, reason: string): void {
    const from = this.#state;
    this.#state = to;
    this.#emit(from, to, reason);
  }

  #emit(from: BreakerState, to: BreakerState, reason: string): void {
    if (from === to) return;
    if (this.#events?.has('breaker-state')) this.#events.emit('breaker-state', { target: this.name, from, to, reason });
  }
}
