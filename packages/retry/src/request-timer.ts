import {
  type Abortable,
  type Clock,
  RelError,
  type TimeoutPhase,
  abortReason,
  abortableOf,
  isAbortable,
} from '@rel/core';
import { cannotAbort } from './never-aborted';
import { Watchdog } from './watchdog';

/** The limits one request runs under; absent means unlimited. */
export interface ResolvedLimits {
  readonly totalMs?: number | undefined;
  readonly firstTokenMs?: number | undefined;
  readonly idleMs?: number | undefined;
}

const INF = Number.POSITIVE_INFINITY;
const noop = () => {};
const RELEASED = new RelError({ kind: 'cancelled', reason: 'stream closed by its consumer' });

/**
 * The timers of one request: a total deadline (its own limit or the inherited deadline, whichever
 * comes first) and, for a stream, the first-token and idle limits. When one passes it aborts
 * `signal` with a `RelError` `{ kind: 'timeout', phase, limitMs }` as the reason, so code below
 * can tell a timeout from the caller's cancel (which arrives as the parent signal's reason).
 *
 * It is an `Abortable`: handed to `ctx.derive`, layers below that only ask `aborted` or
 * `onAbort` never make its signal. Cost on the success path: one cancellable clock timer
 * (`setTimeout` + `clearTimeout` on the system clock), the parent listener (none when the parent
 * can never abort), and the `AbortController` of `signal` only if it is read; nothing is aborted
 * when the request ends in time.
 * @internal
 */
export class RequestTimer implements Abortable {
  /** The absolute total deadline, `Infinity` when there is none. */
  readonly deadline: number;
  /** The clock's reading when the timer was made. */
  readonly startedAt: number;
  /** Made when `signal` is first read: a caller that never hands a signal down makes none. */
  #ctrl: AbortController | undefined;
  #isAborted = false;
  #reason: unknown;
  readonly #clock: Clock;
  readonly #parent: Abortable | undefined;
  #unlinkParent: (() => void) | undefined;
  /** `onAbort` listeners, called once on abort. */
  #listeners: (() => void)[] | undefined;
  readonly #watchdog: Watchdog;
  readonly #onTimeout: (phase: TimeoutPhase, limitMs: number) => void;
  readonly #totalLimit: number;
  readonly #firstAt: number;
  readonly #firstTokenMs: number;
  readonly #idleMs: number;
  #firstSeen = false;
  #waitingSince = INF;
  /** The reject function of the `race` waiting, so an abort ends it; any other waiting at once: `#moreRacers`. */
  #racer: ((reason: unknown) => void) | undefined;
  #moreRacers: Set<(reason: unknown) => void> | undefined;
  #finished = false;

  constructor(
    clock: Clock,
    parent: AbortSignal | Abortable | undefined,
    inheritedDeadline: number | undefined,
    limits: ResolvedLimits,
    stream: boolean,
    onTimeout: (phase: TimeoutPhase, limitMs: number) => void,
  ) {
    this.#clock = clock;
    // The shared never-aborting signal needs no listener (one add and remove fewer per call).
    this.#parent =
      parent === undefined || isAbortable(parent) ? parent : cannotAbort(parent) ? undefined : abortableOf(parent);
    this.#onTimeout = onTimeout;
    const start = clock.now();
    this.startedAt = start;
    const own = limits.totalMs === undefined ? INF : start + limits.totalMs;
    const inherited = inheritedDeadline ?? INF;
    this.deadline = Math.min(own, inherited);
    this.#totalLimit = own <= inherited ? (limits.totalMs ?? INF) : inherited - start;
    this.#firstTokenMs = stream ? (limits.firstTokenMs ?? INF) : INF;
    this.#firstAt = start + this.#firstTokenMs;
    this.#idleMs = stream ? (limits.idleMs ?? INF) : INF;
    this.#watchdog = new Watchdog(clock, () => this.#expire());
    if (this.#parent) {
      if (this.#parent.aborted) this.#abort(this.#parent.signal.reason);
      else this.#unlinkParent = this.#parent.onAbort(() => this.#onParentAbort());
    }
    this.#watchdog.setDue(Math.min(this.deadline, this.#firstAt), start);
  }

  /** True when the total deadline had already passed when the timer was made. */
  get expiredAtStart(): boolean {
    return this.deadline <= this.startedAt;
  }

  /**
   * The signal to hand down: aborted (reason: the timeout `RelError` or the parent's reason) when
   * the timer fires or the parent aborts. Made on first read, already aborted if that happened.
   */
  get signal(): AbortSignal {
    if (!this.#ctrl) {
      this.#ctrl = new AbortController();
      if (this.#isAborted) this.#ctrl.abort(this.#reason);
    }
    return this.#ctrl.signal;
  }

  /** True once the timer fired, the parent aborted or the request was released. */
  get aborted(): boolean {
    return this.#isAborted;
  }

  /** Calls `listener` once when the timer fires, the parent aborts or the request is released. */
  onAbort(listener: () => void): () => void {
    if (this.#isAborted) return noop;
    if (this.#listeners === undefined) this.#listeners = [listener];
    else this.#listeners.push(listener);
    return () => {
      const at = this.#listeners?.indexOf(listener) ?? -1;
      if (at >= 0) this.#listeners?.splice(at, 1);
    };
  }

  /** Fails now with a total timeout: used when the deadline has passed before anything started. */
  expireNow(): never {
    this.#fire('total', this.#totalLimit);
    throw abortReason(this.signal);
  }

  /**
   * `promise`, or the abort reason as soon as the signal aborts, whichever comes first. A race that
   * has ended leaves nothing behind: a stream's thousand chunks race the same timer a thousand times.
   */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#isAborted) return Promise.reject(abortReason(this.signal));
    return new Promise<T>((resolve, reject) => {
      this.addRacer(reject);
      promise.then(
        (value) => {
          this.endRace(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.endRace(reject);
          reject(error);
        },
      );
    });
  }

  /**
   * `race` without its promise, for a caller that settles its own: `reject` is called with the
   * abort reason if the timer aborts (or the request is released) before `endRace(reject)`.
   * Check `aborted` first: an aborted timer calls no racer.
   */
  addRacer(reject: (reason: unknown) => void): void {
    // One race at a time is the rule (a request, then a stream's chunks one by one): one slot.
    if (this.#racer === undefined) this.#racer = reject;
    else (this.#moreRacers ??= new Set()).add(reject);
  }

  /** Ends a race started with `addRacer`; harmless when the abort already ended it. */
  endRace(reject: (reason: unknown) => void): void {
    if (this.#racer === reject) this.#racer = undefined;
    else this.#moreRacers?.delete(reject);
  }

  /** The error to surface for a failure seen while this timer ran: the timeout or cancel wins. */
  failure(error: unknown): unknown {
    return this.#isAborted ? abortReason(this.signal) : error;
  }

  /** A stream consumer starts waiting for the next chunk. */
  beginWait(): void {
    if (!this.#firstSeen || this.#idleMs === INF) return;
    this.#waitingSince = this.#clock.now();
    this.#watchdog.setDue(Math.min(this.deadline, this.#waitingSince + this.#idleMs));
  }

  /** A chunk arrived. */
  endWait(): void {
    this.#firstSeen = true;
    this.#waitingSince = INF;
    this.#watchdog.setDue(this.deadline);
  }

  /**
   * Aborts the request because its consumer is done with it early (a stream closed before its
   * end), so the transport releases the connection. No timeout is reported.
   */
  release(): void {
    if (!this.#isAborted) this.#abort(RELEASED);
    this.finish();
  }

  /** Stops the timers and unlinks from the parent signal. Idempotent. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#watchdog.stop();
    this.#unlinkParent?.();
    this.#unlinkParent = undefined;
  }

  #onParentAbort(): void {
    this.#abort(this.#parent?.signal.reason);
    this.finish();
  }

  #abort(reason: unknown): void {
    this.#isAborted = true;
    this.#reason = reason;
    this.#ctrl?.abort(reason);
    const racer = this.#racer;
    const more = this.#moreRacers;
    this.#racer = undefined;
    this.#moreRacers = undefined;
    racer?.(abortReason(this.signal));
    if (more) for (const reject of more) reject(abortReason(this.signal));
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  #expire(): void {
    const now = this.#clock.now();
    const phaseAt = this.#firstSeen ? this.#waitingSince + this.#idleMs : this.#firstAt;
    if (phaseAt <= now && phaseAt <= this.deadline) {
      this.#fire(this.#firstSeen ? 'idle' : 'first_token', this.#firstSeen ? this.#idleMs : this.#firstTokenMs);
    } else this.#fire('total', this.#totalLimit);
  }

  #fire(phase: TimeoutPhase, limitMs: number): void {
    if (this.#isAborted) return;
    const error = new RelError({ kind: 'timeout', phase, limitMs: Math.max(0, Math.round(limitMs)) });
    this.#onTimeout(phase, limitMs);
    this.#abort(error);
    this.finish();
  }
}
