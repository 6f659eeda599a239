import { describe, expect, it } from 'vitest';
import { LatencyTracker } from './latency-tracker';

describe('LatencyTracker', () => {
  it('answers nothing until it holds minSamples, then the nearest-rank percentile', () => {
    const t = new LatencyTracker({ size: 100, minSamples: 10 });
    for (let i = 1; i <= 9; i++) t.record(i * 10);
    expect(t.percentile(0.95)).toBeUndefined();
    t.record(100);
    expect(t.percentile(0.95)).toBe(100);
    expect(t.percentile(0.5)).toBe(50);
  });

  it('keeps only the most recent samples', () => {
    const t = new LatencyTracker({ size: 8, minSamples: 8 });
    for (let i = 0; i < 8; i++) t.record(1_000);
    for (let i = 0; i < 8; i++) t.record(5);
    expect(t.samples).toBe(8);
    expect(t.percentile(0.99)).toBe(5);
  });
});
