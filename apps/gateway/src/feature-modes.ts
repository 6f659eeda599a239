import {
  type Clock,
  type Completion,
  type Middleware,
  RelError,
  type StateStore,
  completionAsStream,
  setTimer,
  systemClock,
} from '@rel/core';
import { DEGRADED_MODEL, type SafeDefault, safeDefaultAnswer, staticCompletion } from '@rel/fallback';
import { z } from 'zod';
import type { GatewayConfig } from './config';

/** How a feature is served: `normal` (its routes), or `degraded` (its static answer, no route called). */
export type FeatureMode = 'normal' | 'degraded';

/** The store key (under the store's own `keyPrefix`) holding the shared modes: `{"degraded":[names]}`. */
export const FEATURE_MODES_KEY = 'gateway:feature-modes';

/** Compare-and-set rounds a write tries before giving up (each lost round means another write landed). */
const MAX_WRITE_ROUNDS = 16;

const FeatureModesOptionsSchema = z.strictObject({
  /** The store key holding the modes. */
  key: z.string().min(1).default(FEATURE_MODES_KEY),
  /** How often `start()` re-reads the modes from the store, in milliseconds. */
  refreshMs: z.number().int().positive().default(1_000),
});

/** Options of `FeatureModes`; without `store`, the modes live in this process only. */
export interface FeatureModesOptions extends z.input<typeof FeatureModesOptionsSchema> {
  /** Shares the modes with every process on this store: writes go to it first, reads come from a local copy. */
  store?: StateStore;
  /** Times the refresh loop. Default `systemClock` (whose timer does not keep the process alive). */
  clock?: Clock;
  /**
   * Called when the store fails: `refresh` (the last known modes stay in force) or `write` (the
   * change is refused and the mode stays as it was).
   */
  onStoreError?: (error: unknown, op: 'refresh' | 'write') => void;
}

const StoredModes = z.strictObject({ degraded: z.array(z.string()) });

/**
 * The incident switch of each feature, shared by every pipeline a gateway builds (it survives a
 * config reload). A feature forced to `degraded` gets its `degraded` text (or else its
 * `safeDefault`) without any route being called, until it is set back to `normal`.
 *
 * With a `store`, the modes are shared by every process on it: `set` writes the store first (a
 * compare-and-set, so two operators acting on two instances at once both land) and only then the
 * local copy; other processes pick the change up on their next `refresh` (every `refreshMs` once
 * `start`ed). Requests only ever read the local copy: `any` and `mode` stay synchronous and
 * allocation-free.
 * @throws Error (a zod error naming the field) for a bad `key` or `refreshMs`.
 * @example
 * const modes = new FeatureModes({ store, refreshMs: 1_000 });
 * modes.start();
 * await modes.set('suggestions', 'degraded'); // every process now answers the feature statically
 */
export class FeatureModes {
  #degraded = new Set<string>();
  /** The stored value the local copy was read from (`undefined`: absent, or never read). */
  #raw: string | undefined;
  /** Bumped on every change of the local copy, so a refresh that read before a write does not undo it. */
  #version = 0;
  #writes: Promise<unknown> = Promise.resolve();
  #refreshing: Promise<void> | undefined;
  #cancelTimer: (() => void) | undefined;
  #running = false;
  readonly #store: StateStore | undefined;
  readonly #key: string;
  readonly #refreshMs: number;
  readonly #clock: Clock;
  readonly #onStoreError: ((error: unknown, op: 'refresh' | 'write') => void) | undefined;

  constructor(options: FeatureModesOptions = {}) {
    const { store, clock, onStoreError, ...rest } = options;
    const parsed = FeatureModesOptionsSchema.parse(rest);
    this.#store = store;
    this.#key = parsed.key;
    this.#refreshMs = parsed.refreshMs;
    this.#clock = clock ?? systemClock;
    this.#onStoreError = onStoreError;
  }

  /** True when the modes are shared through a store. */
  get shared(): boolean {
    return this.#store !== undefined;
  }

  /** The mode of `feature`, from the local copy. */
  mode(feature: string): FeatureMode {
    return this.#degraded.has(feature) ? 'degraded' : 'normal';
  }

  /** True when at least one feature is forced degraded (the hot path checks this first). */
  get any(): boolean {
    return this.#degraded.size > 0;
  }

  /** The features forced degraded, from the local copy. */
  degraded(): string[] {
    return [...this.#degraded];
  }

  /**
   * Sets the mode of `feature`: in the store first (when shared), then in the local copy. Without
   * a store the change is made before this returns.
   * @throws RelError `dependency_unavailable` when the store fails or keeps changing under the
   * write; the mode is then unchanged.
   */
  set(feature: string, mode: FeatureMode): Promise<void> {
    return this.#update((names) => {
      if (mode === 'degraded') names.add(feature);
      else names.delete(feature);
    }).then(() => undefined);
  }

  /**
   * Sets every feature `keep` refuses back to `normal` (in the store too, when shared) and returns
   * their names. A config reload calls it with the configured features.
   * @throws RelError `dependency_unavailable` when the store fails (the modes are then unchanged).
   */
  async retain(keep: (feature: string) => boolean): Promise<string[]> {
    let dropped: string[] = [];
    await this.#update((names) => {
      dropped = [...names].filter((name) => !keep(name));
      for (const name of dropped) names.delete(name);
    });
    return dropped;
  }

  /**
   * Re-reads the shared modes from the store into the local copy (nothing to do without a store).
   * @throws RelError `dependency_unavailable` when the store fails; the last known modes stay.
   */
  async refresh(): Promise<void> {
    const store = this.#store;
    if (!store) return;
    // Always a read of its own (never one already in flight, which may predate a write elsewhere).
    const version = this.#version;
    try {
      const raw = await store.get(this.#key);
      if (version !== this.#version || raw === this.#raw) return;
      const names = this.#parse(raw);
      if (!names) throw new Error(`the value of ${this.#key} is not {"degraded":[names]}`);
      this.#adopt(raw, names);
    } catch (error) {
      this.#onStoreError?.(error, 'refresh');
      throw unavailable('cannot read the shared feature modes', error);
    }
  }

  /**
   * Starts re-reading the store every `refreshMs` (nothing to do without a store). A failed read
   * keeps the last known modes (and is told to `onStoreError`); the loop goes on. On the system
   * clock the timer does not keep the process alive.
   */
  start(): void {
    if (!this.#store || this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  /** Stops the refresh loop and waits for a read in flight (call it before closing the store). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    await this.#refreshing;
  }

  #schedule(): void {
    this.#cancelTimer = unrefTimer(this.#clock, this.#refreshMs, () => {
      this.#cancelTimer = undefined;
      // A failure was told to onStoreError; the last known modes stay until the next round.
      this.#refreshing = this.refresh()
        .catch(() => {})
        .finally(() => {
          this.#refreshing = undefined;
          if (this.#running) this.#schedule();
        });
    });
  }

  /** Applies `change` to the modes, through a compare-and-set on the store when shared; one write at a time. */
  #update(change: (names: Set<string>) => void): Promise<void> {
    const store = this.#store;
    if (!store) {
      const names = new Set(this.#degraded);
      change(names);
      this.#adopt(undefined, names);
      return Promise.resolve();
    }
    const write = async () => {
      try {
        for (let round = 0; round < MAX_WRITE_ROUNDS; round++) {
          const raw = await store.get(this.#key);
          // An unreadable value is replaced, starting from the modes last known here.
          const names = new Set(this.#parse(raw) ?? this.#degraded);
          change(names);
          const value = serialize(names);
          if (value === raw || (await store.compareAndSet(this.#key, raw, value))) {
            this.#adopt(value, names);
            return;
          }
        }
      } catch (error) {
        this.#onStoreError?.(error, 'write');
        throw unavailable('cannot write the shared feature modes', error);
      }
      throw unavailable(`the shared feature modes kept changing during ${MAX_WRITE_ROUNDS} compare-and-set rounds`);
    };
    const done = this.#writes.then(write, write);
    this.#writes = done.catch(() => {});
    return done;
  }

  #adopt(raw: string | undefined, names: Iterable<string>): void {
    this.#raw = raw;
    this.#version++;
    this.#degraded = new Set(names);
  }

  /** The names in a stored value: none when absent, `undefined` when unreadable. */
  #parse(raw: string | undefined): string[] | undefined {
    if (raw === undefined) return [];
    try {
      const parsed = StoredModes.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data.degraded : undefined;
    } catch {
      return undefined;
    }
  }
}

/** The stored form: names sorted, so equal sets compare equal as strings. */
function serialize(names: ReadonlySet<string>): string {
  return JSON.stringify({ degraded: [...names].sort() });
}

function unavailable(message: string, cause?: unknown): RelError {
  return new RelError(
    { kind: 'dependency_unavailable', dependency: 'store' },
    { message, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * A timer on `clock`; on the system clock a Node timer that does not keep the process alive
 * (the core clock's timers do, which suits a request's deadline but not a background loop).
 */
function unrefTimer(clock: Clock, ms: number, fn: () => void): () => void {
  if (clock !== systemClock) return setTimer(clock, ms, fn);
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * What a feature answers when forced degraded: `degraded` (its static text), `safe_default`, or
 * `undefined` when it has neither (it cannot be forced).
 */
export function forcedAnswerOf(config: GatewayConfig, feature: string): 'degraded' | 'safe_default' | undefined {
  const f = Object.hasOwn(config.features, feature) ? config.features[feature] : undefined;
  if (f?.degraded !== undefined) return 'degraded';
  if (f?.safeDefault !== undefined) return 'safe_default';
  return undefined;
}

/**
 * Serves the features an operator forced to `degraded` mode without calling their routes: the
 * feature's `degraded` text (critical or not: the operator asked), else its safe default when it
 * fits the request's response format; otherwise the request goes on as normal. Recorded like an
 * automatic degradation (`ctx.markDegraded`, event `degraded`, `rel.degradations`), with reason
 * `forced`, so dashboards tell an operator's decision from a failure.
 * @example compose(forcedDegrade(config, modes), degrade({ features }))(routes)
 */
export function forcedDegrade(config: GatewayConfig, modes: FeatureModes): Middleware {
  return (next) => (req, ctx) => {
    if (!modes.any || modes.mode(ctx.feature.name) === 'normal') return next(req, ctx);
    const f = config.features[ctx.feature.name];
    let answer: Completion | undefined;
    if (f?.degraded !== undefined) {
      answer = staticCompletion(f.degraded, DEGRADED_MODEL, req.model);
      ctx.markDegraded('forced');
      ctx.events?.emit('degraded', { requestId: ctx.requestId, feature: ctx.feature.name, reason: 'forced' });
    } else if (f?.safeDefault !== undefined) {
      const fallback = safeDefaultAnswer(f.safeDefault as SafeDefault, req);
      if (fallback.ok) {
        answer = fallback.completion;
        ctx.markSafeDefault('forced');
        ctx.events?.emit('safe-default', {
          requestId: ctx.requestId,
          feature: ctx.feature.name,
          reason: 'forced',
        });
      }
    }
    if (!answer) return next(req, ctx);
    return Promise.resolve(req.stream ? completionAsStream(answer) : answer);
  };
}
