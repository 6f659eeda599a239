import { RelError, type StreamChunk } from '@rel/core';
import { describe, expect, it } from 'vitest';
import { finish, scriptedStream, text } from '../test/helpers';
import { peekStream } from './peeked-stream';

const DONE = { done: true, value: undefined };

/** A source whose `next` answers from `script`: a chunk, an error to reject with, or one to throw at once. */
function source(script: readonly (StreamChunk | { reject: unknown } | { throwNow: unknown })[]) {
  const state = { nexts: 0, closed: 0 };
  const it: AsyncIterator<StreamChunk> = {
    next: () => {
      const step = script[state.nexts++];
      if (step === undefined) return Promise.resolve({ done: true, value: undefined });
      if ('throwNow' in step) throw step.throwNow;
      if ('reject' in step) return Promise.reject(step.reject);
      return Promise.resolve({ done: false, value: step });
    },
    return: async () => {
      state.closed++;
      return { done: true, value: undefined };
    },
  };
  return { state, chunks: { [Symbol.asyncIterator]: () => it } };
}

async function peeked(chunks: AsyncIterable<StreamChunk>) {
  const res = await peekStream({ type: 'stream', requestedModel: 'gpt-primary', chunks });
  return res.chunks[Symbol.asyncIterator]();
}

describe('peeked stream', () => {
  it('hands out the peeked chunk, then every chunk of the source in order, then stays done', async () => {
    const s = scriptedStream([text('a'), text('b'), finish]);
    const it = await peeked(s.response.chunks);
    expect(await it.next()).toEqual({ done: false, value: text('a') });
    expect(await it.next()).toEqual({ done: false, value: text('b') });
    expect(await it.next()).toEqual({ done: false, value: finish });
    expect(await it.next()).toEqual(DONE);
    expect(await it.next()).toEqual(DONE);
    expect(s.state.pulled).toBe(3);
  });

  it('counts the chunks emitted before a mid-stream rejection and reads nothing after it', async () => {
    const reset = new Error('ECONNRESET');
    const s = source([text('a'), text('b'), text('c'), { reject: reset }, text('never')]);
    const it = await peeked(s.chunks);
    for (let i = 0; i < 3; i++) await it.next();
    const error = await it.next().catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 3 });
    expect(RelError.is(error) && error.cause).toBe(reset);
    expect(await it.next()).toEqual(DONE);
    expect(s.state.nexts).toBe(4);
  });

  it('turns a source that throws at once from next() into a rejection, not a synchronous throw', async () => {
    const s = source([text('a'), { throwNow: new Error('sync') }]);
    const it = await peeked(s.chunks);
    await it.next();
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = it.next();
    }).not.toThrow();
    const error = await pending?.catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 1 });
    expect(await it.next()).toEqual(DONE);
  });

  it('keeps a cancel or a timeout mid-stream as it is', async () => {
    const cancelled = new RelError({ kind: 'cancelled' });
    const timeout = new RelError({ kind: 'timeout', phase: 'idle', limitMs: 5 });
    for (const failure of [cancelled, timeout]) {
      const it = await peeked(source([text('a'), text('b'), { reject: failure }]).chunks);
      await it.next();
      await it.next();
      expect(await it.next().catch((e: unknown) => e)).toBe(failure);
    }
  });

  it('closes the source once when closed mid-stream, and reads nothing after', async () => {
    const s = source([text('a'), text('b'), text('c')]);
    const it = await peeked(s.chunks);
    await it.next();
    await it.next();
    expect(await it.return?.()).toEqual(DONE);
    expect(await it.return?.()).toEqual(DONE);
    expect(await it.next()).toEqual(DONE);
    expect(s.state).toEqual({ nexts: 2, closed: 1 });
  });
});
