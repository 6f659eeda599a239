import { MemoryStore, RequestContext } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { request } from '../test/helpers';
import { BudgetPolicy, type Reservation } from './budget-policy';

describe('budget invariants', () => {
  it('property: when actuals stay within their reservations, settled spend never passes the ceiling', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            action: fc.constantFrom('reserve', 'settle', 'release'),
            share: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 300 }),
        async (steps, ceilingCents) => {
          const clock = new FakeClock(1_700_000_040_000);
          const store = new MemoryStore({ clock });
          const ceiling = ceilingCents / 100;
          const policy = new BudgetPolicy({
            store,
            clock,
            prices: { m: { inputPerMTok: 100, outputPerMTok: 300 } },
            tiers: { free: { spendPerDayUsd: ceiling } },
            alerts: [],
          });
          const open: Reservation[] = [];
          const ctx = new RequestContext({ principal: { userId: 'u' }, clock });
          for (const { action, share } of steps) {
            if (action === 'reserve') {
              await policy.reserve(request('m', 200), ctx).then(
                (r) => open.push(r),
                () => {},
              );
            } else {
              const r = open.splice(Math.floor(share * open.length), 1)[0];
              if (!r) continue;
              if (action === 'release') await policy.release(r);
              else
                await policy.settle(r, {
                  inputTokens: Math.floor(r.estimate.inputTokens * share),
                  outputTokens: Math.floor(r.estimate.outputTokens * share),
                });
            }
            const total = await store.total('budget:{user:u}:user:u:spendPerDayUsd', 86_400_000);
            expect(total / 1e6).toBeLessThanOrEqual(ceiling + 1e-9);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("the default MemoryStore stays bounded: a million users' keys are swept or evicted", async () => {
    const clock = new FakeClock(1_700_000_040_000);
    const store = new MemoryStore({ clock, maxKeys: 5000 });
    // Keys without TTL at the head of the map (least recently written) must not stall the sweep.
    await store.set('config', 'kept');
    await store.set('config2', 'kept');
    const policy = new BudgetPolicy({ store, clock, tiers: { free: { rpm: 10 } } });
    for (let i = 0; i < 20_000; i++) {
      const r = await policy.reserve(
        request('gpt-4o-mini', 10, 1),
        new RequestContext({ principal: { userId: `u${i}` } }),
      );
      await policy.release(r);
      if (i % 100 === 0) await clock.advance(6_001); // each user's GCRA key expires 6 s after its request
    }
    expect(store.size).toBeLessThan(1000);
    expect(await store.get('config')).toBe('kept');
  });
});
