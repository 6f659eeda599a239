import { describe, expect, it } from 'vitest';
import { loadAuthored, loadDeepset, loadHeldOut } from '../scripts/lib/data';
import { measureHeldOut } from '../scripts/lib/measure';

describe("rel's hand-written held-out injection sets", () => {
  it('share no text with the training data', () => {
    const trained = new Set([...loadDeepset(), ...loadAuthored()].map((e) => e.text.trim().toLowerCase()));
    for (const set of ['a', 'b'] as const) {
      const rows = loadHeldOut(set);
      expect(rows.length).toBeGreaterThanOrEqual(30);
      for (const r of rows) expect(trained.has(r.text.trim().toLowerCase())).toBe(false);
    }
  });

  it('are flagged more often than vard flags them, with no more benign texts flagged than vard', () => {
    for (const set of ['a', 'b'] as const) {
      const h = measureHeldOut(set);
      expect(h.flagged.relDefault.injections).toBeGreaterThan(2 * h.flagged.vard.injections);
      expect(h.flagged.relDefault.benign).toBeLessThanOrEqual(h.flagged.vard.benign);
      // The strict profile (untrusted content) never catches less than the default one.
      expect(h.flagged.relStrict.injections).toBeGreaterThanOrEqual(h.flagged.relDefault.injections);
    }
  });
});
