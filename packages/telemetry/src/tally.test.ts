import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { Tally } from './tally';

/** The SDK's reader, collected on demand, with the temporality asked for. */
class Reader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const points = (rm: ResourceMetrics) =>
  rm.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === 'evaluations')
    .flatMap((m) =>
      m.dataPoints.map(
        (p) =>
          [p.attributes, p.value, m.dataPointType, m.dataPointType === DataPointType.SUM && m.isMonotonic] as const,
      ),
    );

describe('Tally: a counter kept in memory and reported as an ObservableCounter', () => {
  it('reports one monotonic sum per attribute set, running totals cumulative and increments delta', async () => {
    const cumulative = new Reader(AggregationTemporality.CUMULATIVE);
    const delta = new Reader(AggregationTemporality.DELTA);
    const provider = new MeterProvider({ readers: [cumulative, delta] });
    const tally = new Tally(provider.getMeter('t'), 'evaluations', { description: 'd', unit: '{evaluation}' });
    let built = 0;
    const attrs = (verdict: string) => () => {
      built++;
      return { verdict };
    };
    tally.add('pass', attrs('pass'));
    tally.add('pass', attrs('pass'));
    tally.add('block', attrs('block'), 3);
    // Attributes are built once per set, not once per count.
    expect(built).toBe(2);
    const first = points((await cumulative.collect()).resourceMetrics);
    expect(first).toEqual([
      [{ verdict: 'pass' }, 2, DataPointType.SUM, true],
      [{ verdict: 'block' }, 3, DataPointType.SUM, true],
    ]);
    expect(points((await delta.collect()).resourceMetrics).map((p) => p[1])).toEqual([2, 3]);
    tally.add('pass', attrs('pass'));
    expect(points((await cumulative.collect()).resourceMetrics).map((p) => p[1])).toEqual([3, 3]);
    expect(points((await delta.collect()).resourceMetrics).map((p) => p[1])).toEqual([1, 0]);
    await provider.shutdown();
  });

  it('addTo keys a set by its names and values: equal sets add up, sets differing in one name or value do not', async () => {
    const reader = new Reader(AggregationTemporality.CUMULATIVE);
    const provider = new MeterProvider({ readers: [reader] });
    const tally = new Tally(provider.getMeter('t'), 'evaluations', { description: 'd', unit: 'USD' });
    tally.addTo({ model: 'a', provider: 'x' }, 0.5);
    tally.addTo({ model: 'a', provider: 'x' }, 0.25);
    tally.addTo({ model: 'a', answer: 'x' }, 1);
    tally.addTo({ model: 'b', provider: 'x' }, 2);
    expect(points((await reader.collect()).resourceMetrics).map((p) => [p[0], p[1]])).toEqual([
      [{ model: 'a', provider: 'x' }, 0.75],
      [{ model: 'a', answer: 'x' }, 1],
      [{ model: 'b', provider: 'x' }, 2],
    ]);
    await provider.shutdown();
  });
});
