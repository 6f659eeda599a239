import type { EventHub, RelEventName, RelEvents } from '@rel/core';

/** One event from the gateway's hub, with the time it fired. */
export type RecordedEvent = {
  [K in RelEventName]: { readonly name: K; readonly atMs: number; readonly payload: RelEvents[K] };
}[RelEventName];

const RECORDED: readonly RelEventName[] = [
  'retry',
  'timeout',
  'fallback',
  'breaker-state',
  'guardrail',
  'budget-alert',
  'degraded',
  'safe-default',
  'request-end',
];

/**
 * Records the events the demo reports on (breaker transitions, budget alerts, fallbacks, guardrail
 * verdicts, timeouts, degradations) as they fire on the gateway's event hub.
 * @example const log = new EventLog(gateway.hub, () => Date.now() - t0); log.of('breaker-state');
 */
export class EventLog {
  readonly #events: RecordedEvent[] = [];
  readonly #off: (() => void)[] = [];

  constructor(hub: EventHub, now: () => number) {
    for (const name of RECORDED) {
      this.#off.push(hub.on(name, (payload) => this.#events.push({ name, atMs: now(), payload } as RecordedEvent)));
    }
  }

  /** Every recorded event, in firing order. */
  get all(): readonly RecordedEvent[] {
    return this.#events;
  }

  /** The recorded events of one kind. */
  of<K extends RelEventName>(name: K): { atMs: number; payload: RelEvents[K] }[] {
    return this.#events.filter((e) => e.name === name) as unknown as { atMs: number; payload: RelEvents[K] }[];
  }

  /** How many events of one kind fired. */
  count(name: RelEventName): number {
    let n = 0;
    for (const e of this.#events) if (e.name === name) n += 1;
    return n;
  }

  /** Stops recording. */
  close(): void {
    for (const off of this.#off) off();
  }
}
