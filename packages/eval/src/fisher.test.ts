import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fisherDropPValue, logFactorial } from './fisher';

function choose(n: number, k: number): bigint {
  let r = 1n;
  for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
  return r;
}

/** The p-value computed exactly with big integers, for comparison. */
function exactP(a: number, b: number, c: number, d: number): number {
  const n1 = a + b;
  const n2 = c + d;
  if (n1 === 0 || n2 === 0) return 1;
  const k = a + c;
  let num = 0n;
  for (let x = a; x <= Math.min(n1, k); x++) if (k - x <= n2) num += choose(n1, x) * choose(n2, k - x);
  const den = choose(n1 + n2, k);
  return Number((num * 10n ** 15n) / den) / 1e15;
}

describe('logFactorial', () => {
  it('matches exact values in the table and the sum of logs beyond it', () => {
    expect(logFactorial(0)).toBe(0);
    expect(logFactorial(1)).toBe(0);
    expect(logFactorial(5)).toBeCloseTo(Math.log(120), 12);
    let sum = 0;
    for (let i = 2; i <= 2000; i++) {
      sum += Math.log(i);
      if (i >= 250) expect(Math.abs(logFactorial(i) - sum) / sum).toBeLessThan(1e-12);
    }
  });

  it('rejects negative and fractional arguments', () => {
    expect(() => logFactorial(-1)).toThrow(RangeError);
    expect(() => logFactorial(1.5)).toThrow(RangeError);
  });
});

describe('fisherDropPValue', () => {
  it('gives 17/70 for the lady tasting tea (3 of 4 right against 1 of 4)', () => {
    expect(fisherDropPValue({ passed: 3, failed: 1 }, { passed: 1, failed: 3 })).toBeCloseTo(17 / 70, 12);
  });

  it('gives 1/C(20,10) for a total collapse from 10/10 to 0/10', () => {
    expect(fisherDropPValue({ passed: 10, failed: 0 }, { passed: 0, failed: 10 })).toBeCloseTo(1 / 184_756, 15);
  });

  it('gives 1/20 for 3/3 against 0/3: three runs can never be significant at 5 %', () => {
    expect(fisherDropPValue({ passed: 3, failed: 0 }, { passed: 0, failed: 3 })).toBeCloseTo(0.05, 12);
  });

  it('is 1 when a side has no trials, when nothing dropped, and when everything passes or fails', () => {
    expect(fisherDropPValue({ passed: 0, failed: 0 }, { passed: 0, failed: 5 })).toBe(1);
    expect(fisherDropPValue({ passed: 5, failed: 0 }, { passed: 0, failed: 0 })).toBe(1);
    expect(fisherDropPValue({ passed: 5, failed: 0 }, { passed: 5, failed: 0 })).toBeCloseTo(1, 12);
    expect(fisherDropPValue({ passed: 0, failed: 5 }, { passed: 0, failed: 5 })).toBeCloseTo(1, 12);
    expect(fisherDropPValue({ passed: 0, failed: 4 }, { passed: 4, failed: 0 })).toBeCloseTo(1, 12);
  });

  it('rejects negative or fractional counts', () => {
    expect(() => fisherDropPValue({ passed: -1, failed: 0 }, { passed: 0, failed: 0 })).toThrow(/baseline.passed/);
    expect(() => fisherDropPValue({ passed: 1, failed: 0 }, { passed: 0.5, failed: 0 })).toThrow(/current.passed/);
  });

  const counts = fc.tuple(fc.nat(40), fc.nat(40), fc.nat(40), fc.nat(40));

  it('agrees with exact big-integer arithmetic (property)', () => {
    fc.assert(
      fc.property(counts, ([a, b, c, d]) => {
        const p = fisherDropPValue({ passed: a, failed: b }, { passed: c, failed: d });
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        expect(Math.abs(p - exactP(a, b, c, d))).toBeLessThan(1e-9);
      }),
    );
  });

  it('never grows when one more current run fails instead of passing (property)', () => {
    fc.assert(
      fc.property(counts, ([a, b, c, d]) => {
        fc.pre(c > 0);
        const before = fisherDropPValue({ passed: a, failed: b }, { passed: c, failed: d });
        const worse = fisherDropPValue({ passed: a, failed: b }, { passed: c - 1, failed: d + 1 });
        expect(worse).toBeLessThanOrEqual(before + 1e-12);
      }),
    );
  });
});
