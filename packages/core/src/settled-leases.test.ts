import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SettledLeases } from './settled-leases';

const MEMORY = 60_000;

describe('SettledLeases', () => {
  it('remembers an id for exactly the memory, counted from its latest settlement', () => {
    const s = new SettledLeases(MEMORY, 1000);
    s.add('lease_a', 1000);
    expect(s.has('lease_a', 1000)).toBe(true);
    expect(s.has('lease_a', 1000 + MEMORY - 1)).toBe(true);
    expect(s.has('lease_a', 1000 + MEMORY)).toBe(false);
    expect(s.has('lease_b', 1000)).toBe(false);
    s.add('lease_a', 30_000);
    expect(s.has('lease_a', 30_000 + MEMORY - 1)).toBe(true);
    expect(s.has('lease_a', 30_000 + MEMORY)).toBe(false);
  });

  it('drops a generation whole once all its ids are forgotten, so memory follows the recent rate', () => {
    const s = new SettledLeases(MEMORY, 1_000_000);
    for (let i = 0; i < 5000; i++) s.add(`old_${i}`, i);
    expect(s.size).toBe(5000);
    // A minute on, the first generation becomes the previous one: still looked up, still counted.
    s.add('new_0', MEMORY);
    expect(s.size).toBe(5001);
    expect(s.has('old_4999', MEMORY)).toBe(true);
    // Another minute on, every id of the first generation is forgotten and dropped.
    s.add('new_1', 2 * MEMORY);
    expect(s.size).toBe(2);
    expect(s.has('old_4999', 2 * MEMORY)).toBe(false);
    expect(s.has('new_0', 2 * MEMORY - 1)).toBe(true);
    // After a long idle spell nothing is kept.
    s.add('late', 10 * MEMORY);
    expect(s.size).toBe(1);
  });

  it('never holds more than maxIds: the older generation goes first, then the current one', () => {
    const s = new SettledLeases(MEMORY, 100);
    for (let i = 0; i < 80; i++) s.add(`a_${i}`, 0);
    for (let i = 0; i < 80; i++) {
      s.add(`b_${i}`, MEMORY + i);
      expect(s.size).toBeLessThanOrEqual(100);
    }
    expect(s.has('b_79', MEMORY + 79)).toBe(true);
    for (let i = 0; i < 500; i++) {
      s.add(`c_${i}`, MEMORY + 100);
      expect(s.size).toBeLessThanOrEqual(100);
    }
    expect(s.has('c_499', MEMORY + 100)).toBe(true);
  });

  it('keeps a million ids apart: no unsettled id is reported settled', () => {
    const s = new SettledLeases(MEMORY, 2_000_000);
    for (let i = 0; i < 1_000_000; i++) s.add(`lease_${i.toString(16).padStart(24, '0')}`, 0);
    let wrong = 0;
    for (let i = 0; i < 1_000_000; i++)
      if (s.has(`lease_${(i + 1_000_000).toString(16).padStart(24, '0')}`, 0)) wrong++;
    expect(wrong).toBe(0);
    expect(s.has(`lease_${(999_999).toString(16).padStart(24, '0')}`, 0)).toBe(true);
  });

  it('property: answers as a map of id -> latest settlement time would, clock going back included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            add: fc.boolean(),
            id: fc.integer({ min: 0, max: 30 }),
            step: fc.integer({ min: -1_000, max: 40_000 }),
          }),
          { maxLength: 300 },
        ),
        (steps) => {
          const s = new SettledLeases(MEMORY, 1_000_000);
          const model = new Map<string, number>();
          let now = 1_000_000;
          for (const { add, id, step } of steps) {
            now += step;
            const key = `lease_${id}`;
            if (add) {
              s.add(key, now);
              model.set(key, now + MEMORY);
            } else {
              const forgetAt = model.get(key);
              expect(s.has(key, now)).toBe(forgetAt !== undefined && forgetAt > now);
            }
          }
        },
      ),
    );
  });
});
