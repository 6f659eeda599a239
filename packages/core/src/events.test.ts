import { describe, expect, it } from 'vitest';
import { EventHub } from './events';

describe('EventHub', () => {
  it('delivers to listeners, unsubscribes, and isolates a throwing listener', () => {
    const errors: unknown[] = [];
    const hub = new EventHub({ onListenerError: (e) => errors.push(e) });
    const seen: number[] = [];
    hub.on('retry', () => {
      throw new Error('listener bug');
    });
    const off = hub.on('retry', (e) => seen.push(e.attempt));
    hub.emit('retry', { attempt: 1, delayMs: 10, reason: 'timeout' });
    off();
    hub.emit('retry', { attempt: 2, delayMs: 10, reason: 'timeout' });
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(2);
    expect(hub.has('fallback')).toBe(false);
  });
});
