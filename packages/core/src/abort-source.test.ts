import { describe, expect, it } from 'vitest';
import { AbortSource } from './abort-source';
import { isAbortable } from './abortable';
import { RequestContext } from './context';
import { RelError } from './rel-error';

const cancelled = () => new RelError({ kind: 'cancelled', reason: 'client closed the connection' });

describe('AbortSource', () => {
  it('is an Abortable that starts not aborted, with no reason', () => {
    const source = new AbortSource();
    expect(isAbortable(source)).toBe(true);
    expect(source.aborted).toBe(false);
    expect(source.reason).toBeUndefined();
  });

  it('calls each listener once, in the order added, and keeps the reason it was given', () => {
    const source = new AbortSource();
    const calls: string[] = [];
    source.onAbort(() => calls.push('a'));
    source.onAbort(() => calls.push('b'));
    const reason = cancelled();
    source.abort(reason);
    source.abort(new Error('second'));
    expect(calls).toEqual(['a', 'b']);
    expect(source.aborted).toBe(true);
    expect(source.reason).toBe(reason);
  });

  it('gives an AbortError DOMException as the reason when aborted with none, as AbortController does', () => {
    const source = new AbortSource();
    source.abort();
    expect(source.reason).toBeInstanceOf(DOMException);
    expect((source.reason as DOMException).name).toBe('AbortError');
    expect(source.signal.reason).toBe(source.reason);
  });

  it('does not call a removed listener, and a remover called twice removes only its own entry', () => {
    const source = new AbortSource();
    const calls: string[] = [];
    const twice = () => calls.push('twice');
    const first = source.onAbort(twice);
    source.onAbort(twice);
    const gone = source.onAbort(() => calls.push('gone'));
    gone();
    first();
    first();
    source.abort(cancelled());
    expect(calls).toEqual(['twice']);
  });

  it('never calls a listener added after the abort, and its remover is harmless', () => {
    const source = new AbortSource();
    source.abort(cancelled());
    let called = false;
    const remove = source.onAbort(() => {
      called = true;
    });
    remove();
    expect(called).toBe(false);
  });

  it('makes no signal until asked, then one that aborts with the source and the same reason', () => {
    const source = new AbortSource();
    const signal = source.signal;
    expect(source.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    let heard: unknown;
    signal.addEventListener('abort', () => {
      heard = signal.reason;
    });
    const reason = cancelled();
    source.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(heard).toBe(reason);
  });

  it('gives an already-aborted signal when first read after the abort', () => {
    const source = new AbortSource();
    const reason = cancelled();
    source.abort(reason);
    expect(source.signal.aborted).toBe(true);
    expect(source.signal.reason).toBe(reason);
  });

  it('runs every listener when one throws, then rethrows the first error', () => {
    const source = new AbortSource();
    const calls: string[] = [];
    source.onAbort(() => {
      throw new Error('first');
    });
    source.onAbort(() => {
      throw new Error('second');
    });
    source.onAbort(() => calls.push('third'));
    expect(() => source.abort(cancelled())).toThrow('first');
    expect(calls).toEqual(['third']);
    expect(source.aborted).toBe(true);
  });

  it('cancels a RequestContext given it as its signal, and every context derived from it, without making a signal', () => {
    const source = new AbortSource();
    const ctx = new RequestContext({ signal: source });
    const attempt = ctx.derive({ deadline: 1_000 });
    const heard: string[] = [];
    ctx.onAbort(() => heard.push('request'));
    attempt.onAbort(() => heard.push('attempt'));
    const reason = cancelled();
    source.abort(reason);
    expect(heard).toEqual(['request', 'attempt']);
    expect(ctx.aborted).toBe(true);
    expect(attempt.aborted).toBe(true);
    expect(attempt.signal.reason).toBe(reason);
  });
});
