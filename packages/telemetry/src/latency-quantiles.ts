import { RelError } from '@rel/core';
import { ATTR_GEN_AI_REQUEST_MODEL, type ATTR_GEN_AI_RESPONSE_MODEL } from './semconv';

/** An explicit-bucket histogram, shaped as the SDK's `Histogram` data point value. */
export interface HistogramValueLike {
  readonly buckets: { readonly boundaries: readonly number[]; readonly counts: readonly number[] };
  readonly count: number;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

/** A histogram data point, shaped as the SDK's `HistogramDataPoint` (attributes plus value). */
export interface HistogramPointLike {
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly value: HistogramValueLike;
}

/** Quantiles of one model's latency, keyed `p50`, `p95`, `p99.9`, in the histogram's unit (seconds). */
export interface LatencyQuantiles {
  readonly model: string;
  readonly count: number;
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly quantiles: Readonly<Record<string, number>>;
}

/** Options of `latencyQuantiles`. */
export interface LatencyQuantilesOptions {
  /** The attribute that names the model; default `gen_ai.request.model` (what callers asked for). */
  readonly groupBy?: typeof ATTR_GEN_AI_REQUEST_MODEL | typeof ATTR_GEN_AI_RESPONSE_MODEL;
}

/** The group of points that lack the `groupBy` attribute. */
export const UNKNOWN_MODEL = '(unknown)';

/** `0.5` → `p50`, `0.95` → `p95`, `0.999` → `p99.9`. */
export function quantileKey(q: number): string {
  return `p${Number((q * 100).toFixed(6))}`;
}

/**
 * The `q` quantile of a histogram: finds the bucket holding rank `q * count`, interpolates
 * linearly inside it, and clamps to the recorded min and max (which also bound the first and the
 * overflow bucket). `NaN` for an empty histogram.
 * @example histogramQuantile({ buckets: { boundaries: [1, 2], counts: [0, 4, 0] }, count: 4, min: 1.2, max: 1.8 }, 0.5) // 1.5
 */
export function histogramQuantile(h: HistogramValueLike, q: number): number {
  checkQuantile(q);
  const { boundaries, counts } = h.buckets;
  if (h.count <= 0) return Number.NaN;
  const rank = q * h.count;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n === 0) continue;
    if (below + n >= rank) {
      let lo = i === 0 ? (h.min ?? 0) : (boundaries[i - 1] as number);
      let hi = i < boundaries.length ? (boundaries[i] as number) : (h.max ?? lo);
      if (h.min !== undefined) lo = Math.max(lo, h.min);
      if (h.max !== undefined) hi = Math.min(hi, h.max);
      if (hi < lo) hi = lo;
      return clamp(lo + ((hi - lo) * (rank - below)) / n, h.min, h.max);
    }
    below += n;
  }
  return h.max ?? boundaries.at(-1) ?? Number.NaN;
}

/**
 * Latency quantiles per model from `gen_ai.client.operation.duration` histogram points: points of
 * the same model are merged (bucket counts summed, min and max kept), then each quantile is
 * interpolated within its bucket and clamped to the recorded max. For reports and the demo.
 *
 * @param points - Histogram data points, such as `scopeMetrics[i].metrics[j].dataPoints` of a collection.
 * @param quantiles - Quantiles in [0, 1]; default p50 and p95.
 * @throws RelError `invalid_request` for a quantile outside [0, 1] or points of one model with different boundaries.
 * @example
 * const { resourceMetrics } = await reader.collect();
 * const duration = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
 *   .find((m) => m.descriptor.name === 'gen_ai.client.operation.duration');
 * latencyQuantiles(duration.dataPoints); // [{ model: 'gpt-4o', count: 120, quantiles: { p50: 0.81, p95: 2.3 }, ... }]
 */
export function latencyQuantiles(
  points: Iterable<HistogramPointLike>,
  quantiles: readonly number[] = [0.5, 0.95],
  options: LatencyQuantilesOptions = {},
): LatencyQuantiles[] {
  for (const q of quantiles) checkQuantile(q);
  const groupBy = options.groupBy ?? ATTR_GEN_AI_REQUEST_MODEL;
  const merged = new Map<
    string,
    { boundaries: readonly number[]; counts: number[]; count: number; min?: number; max?: number }
  >();
  for (const point of points) {
    const raw = point.attributes[groupBy];
    const model = typeof raw === 'string' ? raw : UNKNOWN_MODEL;
    const v = point.value;
    const m = merged.get(model);
    if (!m) {
      merged.set(model, {
        boundaries: v.buckets.boundaries,
        counts: [...v.buckets.counts],
        count: v.count,
        ...(v.min !== undefined && v.count > 0 ? { min: v.min } : {}),
        ...(v.max !== undefined && v.count > 0 ? { max: v.max } : {}),
      });
      continue;
    }
    if (!sameBoundaries(m.boundaries, v.buckets.boundaries)) {
      throw new RelError(
        { kind: 'invalid_request', param: 'points' },
        { message: `latencyQuantiles: points of model ${model} have different bucket boundaries` },
      );
    }
    v.buckets.counts.forEach((n, i) => {
      m.counts[i] = (m.counts[i] ?? 0) + n;
    });
    m.count += v.count;
    if (v.count > 0 && v.min !== undefined) m.min = m.min === undefined ? v.min : Math.min(m.min, v.min);
    if (v.count > 0 && v.max !== undefined) m.max = m.max === undefined ? v.max : Math.max(m.max, v.max);
  }
  const out: LatencyQuantiles[] = [];
  for (const [model, m] of [...merged].sort(([a], [b]) => a.localeCompare(b))) {
    if (m.count <= 0) continue;
    const h: HistogramValueLike = {
      buckets: { boundaries: m.boundaries, counts: m.counts },
      count: m.count,
      min: m.min,
      max: m.max,
    };
    const values: Record<string, number> = {};
    for (const q of quantiles) values[quantileKey(q)] = histogramQuantile(h, q);
    out.push({ model, count: m.count, min: m.min, max: m.max, quantiles: values });
  }
  return out;
}

function checkQuantile(q: number): void {
  if (!(q >= 0 && q <= 1)) {
    throw new RelError({ kind: 'invalid_request', param: 'quantiles' }, { message: `quantile ${q} is outside [0, 1]` });
  }
}

function sameBoundaries(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function clamp(x: number, min: number | undefined, max: number | undefined): number {
  if (min !== undefined && x < min) return min;
  if (max !== undefined && x > max) return max;
  return x;
}
