import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';

/**
 * A counter kept in memory per attribute set and reported as an `ObservableCounter`: the running
 * total of each set, read by the SDK at every collection. The metric is the same monotonic sum
 * a synchronous `Counter` gives (same name, unit, points), but counting costs one map update:
 * the SDK hashes a synchronous counter's attributes on every `add` (sorting their keys and
 * `JSON.stringify`), which perf put at about 2 µs a call, six calls a request with the
 * guardrails on. For counters of few attribute sets (a verdict, a model), each named by a cheap key.
 * @example
 * const evaluations = new Tally(meter, 'rel.guardrail.evaluations', { description: 'By verdict.', unit: '{evaluation}' });
 * evaluations.add(`${name}|${action}`, () => ({ 'rel.guardrail.name': name, 'rel.guardrail.verdict': action }));
 */
export class Tally {
  readonly #totals = new Map<string, { readonly attributes: Attributes; value: number }>();

  constructor(meter: Meter, name: string, options: { description: string; unit: string }) {
    meter.createObservableCounter(name, options).addCallback((result) => this.#observe(result));
  }

  /**
   * Adds `value` (default 1) to the set `key` names.
   * @param key one string per attribute set (the same set, the same key).
   * @param attributes the set's attributes, asked for the first time `key` is seen.
   */
  add(key: string, attributes: () => Attributes, value = 1): void {
    const total = this.#totals.get(key);
    if (total) total.value += value;
    else this.#totals.set(key, { attributes: attributes(), value });
  }

  /** Adds `value` to the set `attributes` is, its key derived from its names and values. */
  addTo(attributes: Attributes, value = 1): void {
    let key = '';
    for (const name in attributes) key += `${name}\u0000${String(attributes[name])}\u0000`;
    this.add(key, () => attributes, value);
  }

  #observe(result: ObservableResult): void {
    for (const { attributes, value } of this.#totals.values()) result.observe(value, attributes);
  }
}
