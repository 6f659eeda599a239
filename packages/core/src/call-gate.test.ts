import { describe, expect, it } from 'vitest';
import { CallGate } from './call-gate';

describe('CallGate', () => {
  it('runs a call at once when none is in progress, and after the one in progress otherwise', async () => {
    const gate = new CallGate();
    const order: string[] = [];
    let finish!: () => void;
    const first = gate.track(new Promise<void>((resolve) => (finish = resolve)).then(() => order.push('first')));
    const second = gate.after(async () => order.push('second'));
    await Promise.resolve();
    expect(order).toEqual([]);
    finish();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(gate.busy).toBeUndefined();
    expect(await gate.after(async () => 'now')).toBe('now');
  });

  it('still runs the waiting call when the call in progress fails, and clears itself after it', async () => {
    const gate = new CallGate();
    const failing = gate.track(Promise.reject(new Error('boom')));
    const waiting = gate.after(async () => 'ran');
    await expect(failing).rejects.toThrow('boom');
    expect(await waiting).toBe('ran');
    expect(gate.busy).toBeUndefined();
  });
});
