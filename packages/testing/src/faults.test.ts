import { describe, expect, it } from 'vitest';
import { FakeProvider } from './fake-provider';
import { parseFault, parseFaultHeader } from './faults';

describe('faults', () => {
  it('parses every fault of the contract', () => {
    expect(parseFault({ type: 'stall', afterChunks: 2, stallMs: 10 })).toEqual({
      type: 'stall',
      afterChunks: 2,
      stallMs: 10,
    });
    expect(parseFaultHeader('{"type":"reset"}')).toEqual({ type: 'reset' });
  });

  it('rejects a bad fault naming the field', () => {
    expect(() => parseFault({ type: 'cut_stream', afterChunks: -1 })).toThrow(/^fault\.afterChunks:/);
    expect(() => parseFault({ type: 'server_error', status: 504 })).toThrow(/^fault\.status:/);
    expect(() => parseFaultHeader('not json')).toThrow('x-fake-fault: not valid JSON');
  });

  it('fail, always and model reject bad input at once, naming the field', () => {
    const fake = new FakeProvider();
    expect(() => fake.fail('m', { type: 'slow_first_token' } as never)).toThrow(/fault\.delayMs/);
    expect(() => fake.always('m', { type: 'unknown' } as never)).toThrow(/fault\.type/);
    expect(() => fake.model('m', { latencyMs: { min: 5, max: 1 } })).toThrow("model('m').latencyMs.min");
    expect(() => fake.model('m', { outputTokens: 0 })).toThrow("model('m').outputTokens");
    expect(() => new FakeProvider({ seed: 1.5 })).toThrow('FakeProvider.seed');
  });

  it('queues faults in order, `times` at a time, and reset clears them with the log and the models', async () => {
    const fake = new FakeProvider().model('m', { version: 'v9' });
    fake.fail('m', { type: 'server_error' }, 2).fail('m', { type: 'content_filter' });
    const { RequestContext } = await import('@rel/core');
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      await fake
        .handler({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, new RequestContext())
        .catch(() => undefined);
      outcomes.push(fake.attempts.at(-1)?.outcome ?? '');
    }
    expect(outcomes).toEqual(['fault:server_error', 'fault:server_error', 'fault:content_filter', 'ok']);
    fake.fail('m', { type: 'reset' });
    fake.reset();
    expect(fake.attempts).toHaveLength(0);
    expect(fake.models).toEqual([]);
    expect(fake.versionOf('m')).toBe('m-2024-08-06');
    const res = await fake.handler({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, new RequestContext());
    expect(res.type).toBe('completion');
  });
});
