import type { Fault } from './faults';

/**
 * The faults scripted per model: a queue of one-shot faults, a standing fault, and a down window.
 * Precedence when a request arrives: a queued fault, else the standing one; the down window only
 * applies to a request no fault took.
 * @example
 * const script = new FaultScript();
 * script.enqueue('m', { type: 'reset' }, 2);
 * script.next('m'); // { type: 'reset' }
 */
export class FaultScript {
  readonly #queues = new Map<string, Fault[]>();
  readonly #always = new Map<string, Fault>();
  readonly #downUntil = new Map<string, number>();

  /** Queues `fault` for the next `times` requests to `model`, after any already queued. */
  enqueue(model: string, fault: Fault, times: number): void {
    const queue = this.#queues.get(model) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.#queues.set(model, queue);
  }

  /** Applies `fault` to every request to `model` once its queue is empty. */
  always(model: string, fault: Fault): void {
    this.#always.set(model, fault);
  }

  /** Marks `model` down until clock time `until`. */
  downUntil(model: string, until: number): void {
    this.#downUntil.set(model, until);
  }

  /** Takes the fault for the next request to `model`: the next queued one, else the standing one. */
  next(model: string): Fault | undefined {
    return this.#queues.get(model)?.shift() ?? this.#always.get(model);
  }

  /** Whether `model` is down at clock time `now`. */
  isDown(model: string, now: number): boolean {
    const until = this.#downUntil.get(model);
    return until !== undefined && now < until;
  }

  /** Forgets every scripted fault. */
  clear(): void {
    this.#queues.clear();
    this.#always.clear();
    this.#downUntil.clear();
  }
}
