import type { BreakerState, StateStore } from '@rel/core';
import { type BreakerConfig, type WindowCounts, shouldTrip } from './breaker-options';
import type { Admission, CallOutcome } from './circuit-breaker';

/** The shared record: state, generation (bumped on every transition), open time, half-open start, manual hold. */
interface Shared {
  s: BreakerState;
  g: number;
  at?: number;
  h?: number;
  f?: boolean;
}

const CLOSED: Shared = { s: 'closed', g: 0 };
/** TTL of counters that have no window of their own (consecutive failures, probe slots). */
const COUNTER_TTL_MS = 24 * 3_600_000;
const LEASE = 'rel-breaker';

interface Hooks {
  /** Updates the owning breaker's local view. */
  observe(state: BreakerState, openedAt: number | undefined, forced: boolean): void;
  /** Reports a transition this instance made (it won the compare-and-set). */
  transition(from: BreakerState, to: BreakerState, reason: string): void;
}

/**
 * A breaker's state kept in a `StateStore`, so that several instances (gateway processes) with the
 * same key agree. The state record changes only by compare-and-set, so of two instances racing to
 * trip or to half-open the breaker exactly one wins and emits the event. Counters are keyed by the
 * state's generation, so a new closed period starts with empty windows and a new half-open period
 * with fresh probe slots.
 */
export class StoreBreakerState {
  readonly #store: StateStore;
  readonly #key: string;
  readonly #tagged: string;
  readonly #config: BreakerConfig;
  readonly #hooks: Hooks;
  readonly #successesToClose: number;

  constructor(store: StateStore, key: string, config: BreakerConfig, hooks: Hooks) {
    this.#store = store;
    this.#key = key;
    this.#tagged = hasHashTag(key) ? key : `{${key}}`;
    this.#config = config;
    this.#hooks = hooks;
    this.#successesToClose = config.halfOpen.successesToClose ?? config.halfOpen.maxProbes;
  }

  /** Reads the shared state and updates the local view. */
  async read(): Promise<{ raw: string | undefined; shared: Shared }> {
    const raw = await this.#store.get(`${this.#key}:state`);
    const shared = parse(raw);
    this.#hooks.observe(shared.s, shared.s === 'closed' ? undefined : shared.at, shared.f === true);
    return { raw, shared };
  }

  async enter(now: number): Promise<Admission> {
    let { raw, shared } = await this.read();
    if (shared.s === 'closed') return 'pass';
    if (shared.s === 'open') {
      if (shared.f || now - (shared.at ?? 0) < this.#config.openMs) return 'reject';
      const next: Shared = { s: 'half_open', g: shared.g + 1, at: shared.at ?? now, h: now };
      if (await this.#swap(raw, next, 'open', 'open_timeout_elapsed')) {
        shared = next;
        raw = JSON.stringify(next);
      } else {
        ({ raw, shared } = await this.read());
        if (shared.s !== 'half_open') return shared.s === 'closed' ? 'pass' : 'reject';
      }
    }
    const taken = await this.#store.increment(this.#counter(shared.g, 'probes'), 1, COUNTER_TTL_MS);
    if (taken <= this.#config.halfOpen.maxProbes) return 'probe';
    // Every slot is taken: a period that has not decided in time reopens (a lost probe's process may be gone).
    if (now - (shared.h ?? now) >= this.#config.halfOpen.probeTimeoutMs)
      await this.#swap(raw, { s: 'open', g: shared.g + 1, at: now }, 'half_open', 'probe_timeout');
    return 'reject';
  }

  async record(admission: Admission, outcome: CallOutcome, slow: boolean, now: number): Promise<void> {
    const { raw, shared } = await this.read();
    if (admission === 'probe') {
      if (shared.s !== 'half_open') return;
      if (outcome === 'ignored') {
        await this.#store.increment(this.#counter(shared.g, 'probes'), -1, COUNTER_TTL_MS);
        return;
      }
      if (outcome === 'failure' || slow) {
        await this.#swap(
          raw,
          { s: 'open', g: shared.g + 1, at: now },
          'half_open',
          slow && outcome !== 'failure' ? 'probe_slow' : 'probe_failed',
        );
        return;
      }
      const successes = await this.#store.increment(this.#counter(shared.g, 'successes'), 1, COUNTER_TTL_MS);
      if (successes >= this.#successesToClose)
        await this.#swap(raw, { s: 'closed', g: shared.g + 1 }, 'half_open', 'probes_succeeded');
      return;
    }
    if (shared.s !== 'closed' || outcome === 'ignored') return;
    const failed = outcome === 'failure';
    const consecutiveKey = this.#counter(shared.g, 'consecutive');
    let consecutive = 0;
    if (failed) consecutive = await this.#store.increment(consecutiveKey, 1, COUNTER_TTL_MS);
    else await this.#store.set(consecutiveKey, '0', COUNTER_TTL_MS);
    const failureWindow = await this.#window(
      'failure_rate',
      shared.g,
      this.#config.failureRate?.windowMs,
      failed,
      slow,
    );
    const slowWindow = await this.#window(
      'slow_call_rate',
      shared.g,
      this.#config.slowCallRate?.windowMs,
      failed,
      slow,
    );
    if (shared.f) return;
    const reason = shouldTrip(this.#config, consecutive, failureWindow, slowWindow);
    if (reason !== undefined) await this.#swap(raw, { s: 'open', g: shared.g + 1, at: now }, 'closed', reason);
  }

  async manual(to: BreakerState, forced: boolean, reason: string, now: number): Promise<void> {
    for (;;) {
      const { raw, shared } = await this.read();
      const next: Shared = to === 'open' ? { s: to, g: shared.g + 1, at: now } : { s: to, g: shared.g + 1 };
      if (forced) next.f = true;
      if (await this.#swap(raw, next, shared.s, reason)) return;
    }
  }

  /** Counts one call in a store window (one round trip for all three counters) and returns the counts. */
  async #window(
    mode: string,
    generation: number,
    windowMs: number | undefined,
    failed: boolean,
    slow: boolean,
  ): Promise<WindowCounts | undefined> {
    if (windowMs === undefined) return undefined;
    const base = this.#counter(generation, mode);
    const [calls = 0, failures = 0, slowCalls = 0] = await this.#store.settle(LEASE, [
      { key: `${base}:calls`, windowMs, amount: 1 },
      { key: `${base}:failures`, windowMs, amount: failed ? 1 : 0 },
      { key: `${base}:slow`, windowMs, amount: slow ? 1 : 0 },
    ]);
    return { calls, failures, slow: slowCalls };
  }

  async #swap(raw: string | undefined, next: Shared, from: BreakerState, reason: string): Promise<boolean> {
    const ok = await this.#store.compareAndSet(`${this.#key}:state`, raw, JSON.stringify(next));
    if (!ok) return false;
    this.#hooks.observe(next.s, next.s === 'closed' ? undefined : next.at, next.f === true);
    this.#hooks.transition(from, next.s, reason);
    return true;
  }

  /**
   * A counter of one generation. Counters carry the breaker key as their Redis Cluster hash tag
   * (unless the key has one of its own), so the keys of one `settle` share a slot.
   */
  #counter(generation: number, name: string): string {
    return `${this.#tagged}:${generation}:${name}`;
  }
}

/** Whether Redis Cluster would hash `key` by a tag: its first `{` followed later by a `}`, not at once. */
function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  return open >= 0 && key.indexOf('}', open + 1) > open + 1;
}

function parse(raw: string | undefined): Shared {
  if (raw === undefined) return CLOSED;
  try {
    const v = JSON.parse(raw) as Shared;
    if (v.s === 'closed' || v.s === 'open' || v.s === 'half_open') return v;
  } catch {
    // an unreadable record is treated as closed; the next transition overwrites it
  }
  return CLOSED;
}
