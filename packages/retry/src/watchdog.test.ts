import { FakeClock } from '@rel/core/testing';
import { describe, expect, it } from 'vitest';
import { Watchdog } from './watchdog';

describe('Watchdog', () => {
  it('fires once at the due time, after moves later and earlier', async () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    const w = new Watchdog(clock, () => fired.push(clock.now()));
    w.setDue(100);
    w.setDue(300);
    await clock.advance(250);
    expect(fired).toEqual([]);
    w.setDue(280);
    await clock.advance(100);
    expect(fired).toEqual([280]);
    expect(clock.pending).toBe(0);
  });

  it('keeps one timer while the due time only moves later', async () => {
    const clock = new FakeClock(0);
    const w = new Watchdog(clock, () => {});
    for (let t = 100; t < 1_000; t += 10) w.setDue(t);
    expect(clock.pending).toBe(1);
    w.stop();
    expect(clock.pending).toBe(0);
  });

  it('never fires after stop', async () => {
    const clock = new FakeClock(0);
    let fired = false;
    const w = new Watchdog(clock, () => {
      fired = true;
    });
    w.setDue(10);
    w.stop();
    await clock.advance(100);
    expect(fired).toBe(false);
  });
});

describe('Watchdog on a clock without setTimer', () => {
  /** Only `now` and `sleep`, as a custom clock may be: the watchdog falls back to cancellable sleeps. */
  function sleepOnly(clock: FakeClock) {
    return { now: () => clock.now(), sleep: (ms: number, signal?: AbortSignal) => clock.sleep(ms, signal) };
  }

  it('fires at the due time and leaves nothing pending', async () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    const w = new Watchdog(sleepOnly(clock), () => fired.push(clock.now()));
    w.setDue(100);
    w.setDue(50);
    await clock.advance(200);
    expect(fired).toEqual([50]);
    expect(clock.pending).toBe(0);
  });

  it('releases its sleep on stop', async () => {
    const clock = new FakeClock(0);
    let fired = false;
    const w = new Watchdog(sleepOnly(clock), () => {
      fired = true;
    });
    w.setDue(100);
    expect(clock.pending).toBe(1);
    w.stop();
    await clock.advance(0);
    expect(clock.pending).toBe(0);
    await clock.advance(200);
    expect(fired).toBe(false);
  });
});
