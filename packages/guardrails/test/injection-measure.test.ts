import { describe, expect, it } from 'vitest';
import { measure } from '../scripts/lib/measure';

describe('injection detector measured against vard', () => {
  // About 5 s of CPU (20 trainings); the timeout leaves room for a busy shared machine.
  it('has at least 3x vard recall on deepset by 5-fold CV, FPR no higher than vard, and <= 5% on NotInject', {
    timeout: 60_000,
  }, () => {
    const m = measure();
    expect(m.rows.deepset).toBe(546);
    expect(m.rows.notInject).toBe(339);
    expect(m.rel.recall).toBeGreaterThanOrEqual(3 * m.vard.recall);
    expect(m.rel.fpr).toBeLessThanOrEqual(m.vard.fpr);
    expect(m.rel.notInjectFpr).toBeLessThanOrEqual(m.vard.notInjectFpr);
    expect(m.relShippedNotInjectFpr).toBeLessThanOrEqual(m.vard.notInjectFpr);
    expect(m.rel.notInjectFpr).toBeLessThanOrEqual(0.05);
    expect(m.relShippedNotInjectFpr).toBeLessThanOrEqual(0.05);
  });
});
