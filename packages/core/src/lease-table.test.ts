import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaseTable } from './lease-table';

type Step =
  | { kind: 'set'; id: string; amount: number; expiresAt: number }
  | { kind: 'delete'; id: string }
  | { kind: 'drop'; now: number };

const id = fc.constantFrom('a', 'b', 'c', 'd');
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), id, amount: fc.integer({ min: 0, max: 50 }), expiresAt: fc.nat(100) }),
  fc.record({ kind: fc.constant('delete' as const), id }),
  fc.record({ kind: fc.constant('drop' as const), now: fc.nat(100) }),
);

/** Everything the table says, as a multiset of [amount, expiresAt] sorted for comparison. */
function contents(t: LeaseTable): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  t.forEach((amount, expiresAt) => {
    out.push([amount, expiresAt]);
  });
  return out.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

describe('LeaseTable', () => {
  it('holds exactly what a Map of leases holds, through any sequence of sets, deletes and expiries', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const table = new LeaseTable();
        const model = new Map<string, [number, number]>();
        for (const s of steps) {
          if (s.kind === 'set') {
            table.set(s.id, s.amount, s.expiresAt);
            model.set(s.id, [s.amount, s.expiresAt]);
          } else if (s.kind === 'delete') {
            table.delete(s.id);
            model.delete(s.id);
          } else {
            let until = Number.POSITIVE_INFINITY;
            for (const [k, [, exp]] of model) {
              if (exp <= s.now) model.delete(k);
              else until = Math.min(until, exp);
            }
            expect(table.dropExpired(s.now)).toBe(until);
          }
          const leases = [...model.values()];
          expect(table.size).toBe(model.size);
          expect(contents(table)).toEqual(leases.sort((x, y) => x[0] - y[0] || x[1] - y[1]));
          expect(table.addAmounts(7)).toBe(leases.reduce((sum, l) => sum + l[0], 7));
          expect(table.latestExpiry()).toBe(Math.max(Number.NEGATIVE_INFINITY, ...leases.map((l) => l[1])));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('replaces a lease set twice under one id, inline or not, instead of holding it twice', () => {
    const t = new LeaseTable();
    t.set('a', 1, 10);
    t.set('b', 2, 20);
    t.set('a', 3, 30);
    t.set('b', 4, 40);
    expect(t.size).toBe(2);
    expect(contents(t)).toEqual([
      [3, 30],
      [4, 40],
    ]);
    t.delete('a');
    t.set('b', 5, 50); // 'b' lives beyond the free inline slot: replaced there, not duplicated
    expect(t.size).toBe(1);
    expect(contents(t)).toEqual([[5, 50]]);
  });
});
