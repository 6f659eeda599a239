import { describe, expect, it } from 'vitest';
import { SlidingWindow } from './sliding-window';

describe('SlidingWindow', () => {
  it('counts calls, failures and slow calls inside the window only', () => {
    const w = new SlidingWindow(10_000);
    const out = { calls: 0, failures: 0, slow: 0 };
    w.record(0, true, false);
    w.record(4_000, false, true);
    w.record(9_000, true, true);
    expect(w.read(9_999, out)).toEqual({ calls: 3, failures: 2, slow: 2 });
    expect(w.read(10_500, out)).toEqual({ calls: 2, failures: 1, slow: 2 });
    expect(w.read(30_000, out)).toEqual({ calls: 0, failures: 0, slow: 0 });
  });

  it('reuses a bucket slot once its time has passed, and clears', () => {
    const w = new SlidingWindow(1_000);
    const out = { calls: 0, failures: 0, slow: 0 };
    w.record(0, true, false);
    w.record(1_000, false, false);
    expect(w.read(1_000, out)).toEqual({ calls: 1, failures: 0, slow: 0 });
    w.clear();
    expect(w.read(1_000, out).calls).toBe(0);
  });
});
