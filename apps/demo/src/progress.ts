import type { Incident } from './scenario';

/** Where progress goes: a stream with an optional `isTTY`, such as `process.stderr`. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Counts shown on the progress line. */
export interface ProgressCounts {
  done: number;
  ok: number;
  errors: number;
  fallbacks: number;
  degraded: number;
}

/**
 * The live progress line: rewritten in place (at most every 100 ms) on a terminal, one plain line
 * every `everyMs` otherwise, so CI logs stay readable. Shows the simulated time, the incident in
 * progress and the running counts.
 * @example const p = new Progress(process.stderr, 600, incidents); p.update(hour, counts); p.done();
 */
export class Progress {
  readonly #sink: ProgressSink;
  readonly #total: number;
  readonly #incidents: readonly Incident[];
  readonly #everyMs: number;
  readonly #now: () => number;
  #last = Number.NEGATIVE_INFINITY;
  #shown = false;

  constructor(
    sink: ProgressSink,
    total: number,
    incidents: readonly Incident[],
    options: { everyMs?: number; now?: () => number } = {},
  ) {
    this.#sink = sink;
    this.#total = total;
    this.#incidents = incidents;
    this.#everyMs = options.everyMs ?? 2_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Reports progress at simulated `hour`; throttled. */
  update(hour: number, c: ProgressCounts): void {
    const tty = this.#sink.isTTY === true;
    const now = this.#now();
    if (now - this.#last < (tty ? 100 : this.#everyMs) && c.done < this.#total) return;
    this.#last = now;
    const line = Progress.format(hour, this.#total, c, this.#incidents);
    this.#sink.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    this.#shown = true;
  }

  /** Ends the live line (a newline on a terminal). */
  done(): void {
    if (this.#shown && this.#sink.isTTY === true) this.#sink.write('\n');
  }

  /** One progress line, e.g. `13:24 [primary outage] 312/600 ok 290 err 22 fallbacks 41 degraded 9`. */
  static format(hour: number, total: number, c: ProgressCounts, incidents: readonly Incident[]): string {
    const hh = String(Math.floor(hour)).padStart(2, '0');
    const mm = String(Math.floor((hour % 1) * 60)).padStart(2, '0');
    const incident = incidents.find((i) => hour >= i.fromHour && hour < i.toHour);
    return [
      `${hh}:${mm}`,
      incident ? `[${incident.label}]` : '[normal]',
      `${c.done}/${total}`,
      `ok ${c.ok}`,
      `err ${c.errors}`,
      `fallbacks ${c.fallbacks}`,
      `degraded ${c.degraded}`,
    ].join('  ');
  }
}
