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

  it('carries every policy event with its typed payload to the listeners of that name only', () => {
    const hub = new EventHub();
    const seen: string[] = [];
    const names = [
      'retry',
      'timeout',
      'fallback',
      'breaker-state',
      'guardrail',
      'budget-alert',
      'degraded',
      'safe-default',
    ] as const;
    for (const name of names) hub.on(name, () => seen.push(name));
    hub.on('breaker-state', (e) => seen.push(`${e.target}:${e.from}->${e.to}`));
    hub.emit('retry', { attempt: 2, delayMs: 100, reason: 'rate_limited' });
    hub.emit('timeout', { operation: 'chat', phase: 'first_token', limitMs: 2000 });
    hub.emit('fallback', { requestId: 'r', from: 'a', to: 'b', reason: 'circuit_open' });
    hub.emit('breaker-state', { target: 'a', from: 'closed', to: 'open', reason: '5 failures' });
    hub.emit('guardrail', {
      requestId: 'r',
      name: 'pii',
      stage: 'input',
      action: 'redact',
      categories: ['email'],
      latencyMs: 1,
    });
    hub.emit('budget-alert', { scope: 'org:a', period: 'day', thresholdPct: 80, spentUsd: 8, limitUsd: 10 });
    hub.emit('degraded', { requestId: 'r', feature: 'summaries', reason: 'timeout' });
    hub.emit('safe-default', { requestId: 'r', feature: 'summaries', reason: 'timeout' });
    hub.emit('give-up', { attempts: 3, failure: { kind: 'timeout', phase: 'total' } });
    expect(seen).toEqual([...names.slice(0, 4), 'a:closed->open', ...names.slice(4)]);
    expect(hub.has('retry')).toBe(true);
    expect(hub.has('give-up')).toBe(false);
  });

  it('lets a listener unsubscribe itself while an event is being delivered', () => {
    const hub = new EventHub();
    const seen: number[] = [];
    const off = hub.on('hedge', (e) => {
      seen.push(e.delayMs);
      off();
    });
    hub.emit('hedge', { delayMs: 1 });
    hub.emit('hedge', { delayMs: 2 });
    expect(seen).toEqual([1]);
    expect(hub.has('hedge')).toBe(false);
  });
});
