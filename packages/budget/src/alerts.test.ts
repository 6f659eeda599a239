import { MemoryStore } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BudgetAlert, SpendAlerts } from './alerts';
import { DAY, type Slot } from './slots';

describe('SpendAlerts.due', () => {
  it('property: due is true exactly when check would fire an alert on a fresh store', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.constant(Number.NaN)),
        fc.boolean(),
        async (thresholds, limit, total, atCeiling) => {
          const clock = new FakeClock(1_700_000_000_000);
          const fired: BudgetAlert[] = [];
          const alerts = new SpendAlerts({
            store: new MemoryStore({ clock }),
            clock,
            keyPrefix: 'b:',
            thresholds,
            onAlert: (a) => fired.push(a),
            logger: { warn: () => {} },
          });
          const key = 'b:{user:u}:user:u:spendPerDayUsd';
          const slot: Slot = {
            name: 'spendPerDayUsd',
            scope: 'user:u',
            key,
            limit,
            failMode: 'closed',
            op: { type: 'quota', key, limit, windowMs: DAY, cost: 0 },
            settle: 'spend',
            windowMs: DAY,
          };
          const due = alerts.due(slot, total, atCeiling);
          await alerts.check(slot, total, 'user:u', undefined, atCeiling);
          expect(fired.length > 0).toBe(due);
        },
      ),
      { numRuns: 300 },
    );
  });
});
