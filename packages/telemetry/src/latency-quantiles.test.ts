import { MeterProvider, MetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { RelError } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { histogramQuantile, latencyQuantiles, quantileKey } from './latency-quantiles';
import { DURATION_BUCKETS } from './semconv';

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Records `values` per model into a real SDK histogram with the convention's buckets and returns its points. */
async function sdkPoints(values: Record<string, number[]>) {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider.getMeter('t').createHistogram('gen_ai.client.operation.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  });
  for (const [model, xs] of Object.entries(values)) {
    for (const x of xs) histogram.record(x, { 'gen_ai.request.model': model, 'gen_ai.response.model': `${model}-v1` });
  }
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  const metric = resourceMetrics.scopeMetrics[0]?.metrics[0] as HistogramMetricData;
  return metric.dataPoints;
}

const histogram = (boundaries: number[], counts: number[], min?: number, max?: number) => ({
  buckets: { boundaries, counts },
  count: counts.reduce((a, b) => a + b, 0),
  ...(min === undefined ? {} : { min }),
  ...(max === undefined ? {} : { max }),
});

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket that holds the rank', () => {
    // 10 values in (1, 2]: the median is halfway through that bucket.
    expect(histogramQuantile(histogram([1, 2, 4], [0, 10, 0, 0]), 0.5)).toBe(1.5);
    // 10 in (0, 1] and 10 in (1, 2]: p75 is halfway into the second bucket.
    expect(histogramQuantile(histogram([1, 2], [10, 10, 0]), 0.75)).toBe(1.5);
  });

  it('clamps to the recorded min and max, which also bound the first and the overflow bucket', () => {
    expect(histogramQuantile(histogram([1, 2], [0, 4, 0], 1.2, 1.4), 0.99)).toBeCloseTo(1.398, 9);
    expect(histogramQuantile(histogram([1, 2], [0, 4, 0], 1.2, 1.4), 0)).toBe(1.2);
    // Overflow bucket: interpolates between the last boundary and the max.
    expect(histogramQuantile(histogram([1, 2], [0, 0, 2], 3, 7), 1)).toBe(7);
    // First bucket without a min starts at 0.
    expect(histogramQuantile(histogram([10], [4, 0]), 0.5)).toBe(5);
  });

  it('returns NaN for an empty histogram and refuses a quantile outside [0, 1]', () => {
    expect(histogramQuantile(histogram([1], [0, 0]), 0.5)).toBeNaN();
    const error = (() => {
      try {
        histogramQuantile(histogram([1], [1, 0]), 1.5);
      } catch (e) {
        return e;
      }
    })();
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'invalid_request', param: 'quantiles' });
  });

  it('is monotone in q and stays within [min, max] (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 120, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (xs, q1, q2) => {
          const boundaries = [...DURATION_BUCKETS];
          const counts = new Array(boundaries.length + 1).fill(0);
          for (const x of xs) {
            const i = boundaries.findIndex((b) => x <= b);
            counts[i === -1 ? boundaries.length : i]++;
          }
          const h = histogram(boundaries, counts, Math.min(...xs), Math.max(...xs));
          const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
          const a = histogramQuantile(h, lo);
          const b = histogramQuantile(h, hi);
          expect(a).toBeLessThanOrEqual(b);
          expect(a).toBeGreaterThanOrEqual(Math.min(...xs));
          expect(b).toBeLessThanOrEqual(Math.max(...xs));
        },
      ),
    );
  });

  it('is exact for a single observation (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 200, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (x, q) => {
          const boundaries = [...DURATION_BUCKETS];
          const counts = boundaries.map(() => 0).concat(0);
          const i = boundaries.findIndex((b) => x <= b);
          counts[i === -1 ? boundaries.length : i] = 1;
          expect(histogramQuantile(histogram(boundaries, counts, x, x), q)).toBe(x);
        },
      ),
    );
  });
});

describe('latencyQuantiles', () => {
  it('computes p50 and p95 per model from real SDK histogram points, within one bucket of the exact value', async () => {
    const fast = Array.from({ length: 100 }, (_, i) => 0.1 + i * 0.004); // 0.100 .. 0.496
    const slow = Array.from({ length: 100 }, (_, i) => 1 + i * 0.03); // 1.00 .. 3.97
    const result = latencyQuantiles(await sdkPoints({ 'gpt-4o-mini': fast, 'gpt-4o': slow }));
    expect(result.map((r) => [r.model, r.count, r.min, r.max])).toEqual([
      ['gpt-4o', 100, 1, slow.at(-1)],
      ['gpt-4o-mini', 100, 0.1, fast.at(-1)],
    ]);
    const [big, mini] = result;
    // Exact p50 of `fast` is ~0.298 (bucket (0.16, 0.32]); p95 ~0.478 (bucket (0.32, 0.64], clamped to max 0.496).
    expect(mini?.quantiles.p50).toBeGreaterThan(0.16);
    expect(mini?.quantiles.p50).toBeLessThanOrEqual(0.32);
    expect(mini?.quantiles.p95).toBeGreaterThan(0.32);
    expect(mini?.quantiles.p95).toBeLessThanOrEqual(0.496);
    // Exact p50 of `slow` is ~2.5 (bucket (1.28, 2.56]); p95 ~3.85 (bucket (2.56, 5.12], clamped to 3.97).
    expect(big?.quantiles.p50).toBeGreaterThan(1.28);
    expect(big?.quantiles.p50).toBeLessThanOrEqual(2.56);
    expect(big?.quantiles.p95).toBeGreaterThan(2.56);
    expect(big?.quantiles.p95).toBeLessThanOrEqual(3.97);
  });

  it('groups by the response model when asked and merges points of one model', async () => {
    const points = await sdkPoints({ a: [0.05, 0.05], b: [0.05] });
    const byResponse = latencyQuantiles(points, [0.5], { groupBy: 'gen_ai.response.model' });
    expect(byResponse.map((r) => [r.model, r.count, r.quantiles.p50])).toEqual([
      ['a-v1', 2, 0.05],
      ['b-v1', 1, 0.05],
    ]);
    const merged = latencyQuantiles(
      points.map((p) => ({ ...p, attributes: { 'gen_ai.request.model': 'all' } })),
      [0, 1],
    );
    expect(merged.map((r) => [r.model, r.count, r.quantiles.p0, r.quantiles.p100])).toEqual([['all', 3, 0.05, 0.05]]);
  });

  it('names quantiles p50, p95 and p99.9', () => {
    expect([0.5, 0.95, 0.999, 1].map(quantileKey)).toEqual(['p50', 'p95', 'p99.9', 'p100']);
  });
});

describe('latencyQuantiles against the exact quantiles of the samples', () => {
  /** The q quantile of the samples: the smallest sample with at least q·n samples at or below it. */
  const exactQuantile = (sorted: readonly number[], q: number) =>
    q === 0 ? (sorted[0] as number) : (sorted[Math.ceil(q * sorted.length) - 1] as number);

  /** The bucket (lower, upper] of the convention's boundaries holding x, narrowed to [min, max]. */
  function bucketOf(x: number, min: number, max: number): [number, number] {
    const i = DURATION_BUCKETS.findIndex((b) => x <= b);
    const lower = i <= 0 ? min : (DURATION_BUCKETS[i - 1] as number);
    const upper = i === -1 ? max : (DURATION_BUCKETS[i] as number);
    return [Math.max(lower, min), Math.min(upper, max)];
  }

  it('puts p50, p95 and any quantile in the bucket of the exact sample quantile, from real SDK points (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0.001, max: 120, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (xs, q) => {
          const sorted = [...xs].sort((a, b) => a - b);
          const min = sorted[0] as number;
          const max = sorted.at(-1) as number;
          const [result] = latencyQuantiles(await sdkPoints({ m: xs }), [0.5, 0.95, q]);
          expect(result?.count).toBe(xs.length);
          for (const p of [0.5, 0.95, q]) {
            const exact = exactQuantile(sorted, p);
            const [lower, upper] = bucketOf(exact, min, max);
            const estimate = result?.quantiles[quantileKey(p)] as number;
            // Within the exact value's bucket: the error is at most that bucket's width.
            expect(estimate).toBeGreaterThanOrEqual(lower - 1e-12);
            expect(estimate).toBeLessThanOrEqual(upper + 1e-12);
            expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(upper - lower + 1e-12);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
