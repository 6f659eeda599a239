import { describe, expect, it } from 'vitest';
import { type Abortable, abortableOf, isAbortable } from './abortable';
import { RequestContext } from './context';
import { RelError } from './rel-error';

/** An Abortable that counts how often its signal is made, as a lazy timer would be. */
function lazySource(): Abortable & { abort(reason: unknown): void; made: number } {
  let ctrl: AbortController | undefined;
  let aborted = false;
  let reason: unknown;
  const listeners: (() => void)[] = [];
  return {
    made: 0,
    get aborted() {
      return aborted;
    },
    get signal() {
      if (!ctrl) {
        this.made++;
        ctrl = new AbortController();
        if (aborted) ctrl.abort(reason);
      }
      return ctrl.signal;
    },
    onAbort(listener) {
      listeners.push(listener);
      return () => listeners.splice(listeners.indexOf(listener) >>> 0, 1);
    },
    abort(why) {
      aborted = true;
      reason = why;
      ctrl?.abort(why);
      for (const l of listeners.splice(0)) l();
    },
  };
}

describe('Abortable', () => {
  it('tells an Abortable from a plain AbortSignal', () => {
    expect(isAbortable(new AbortController().signal)).toBe(false);
    expect(isAbortable(abortableOf(undefined))).toBe(true);
    expect(isAbortable(new RequestContext())).toBe(true);
  });

  it('wraps a plain signal: aborted, listener called once, removable', () => {
    const ctrl = new AbortController();
    const a = abortableOf(ctrl.signal);
    expect(a.signal).toBe(ctrl.signal);
    const calls: string[] = [];
    a.onAbort(() => calls.push('kept'));
    const stop = a.onAbort(() => calls.push('removed'));
    stop();
    stop();
    expect(a.aborted).toBe(false);
    ctrl.abort(new Error('bye'));
    ctrl.abort(new Error('again'));
    expect(a.aborted).toBe(true);
    expect(calls).toEqual(['kept']);
  });

  it('without a signal never aborts and keeps no listener', () => {
    const a = abortableOf(undefined);
    expect(a.aborted).toBe(false);
    expect(a.signal.aborted).toBe(false);
    expect(a.signal).not.toBe(a.signal);
    expect(() => a.onAbort(() => {})()).not.toThrow();
  });
});

describe('RequestContext as an Abortable', () => {
  it('follows an Abortable given to derive without making its signal', () => {
    const source = lazySource();
    const ctx = new RequestContext();
    const child = ctx.derive({ signal: source, deadline: 100 });
    const grandchild = child.derive({ attempt: 1 });
    const heard: string[] = [];
    grandchild.onAbort(() => heard.push('grandchild'));
    expect(grandchild.aborted).toBe(false);
    expect(source.made).toBe(0);
    const reason = new RelError({ kind: 'timeout', phase: 'total', limitMs: 100 });
    source.abort(reason);
    expect(heard).toEqual(['grandchild']);
    expect(child.aborted).toBe(true);
    expect(grandchild.aborted).toBe(true);
    expect(ctx.aborted).toBe(false);
    expect(source.made).toBe(0);
    expect(grandchild.signal.reason).toBe(reason);
    expect(child.signal).toBe(grandchild.signal);
    expect(source.made).toBe(1);
  });

  it('reports a given AbortSignal through aborted and onAbort', () => {
    const ctrl = new AbortController();
    const ctx = new RequestContext({ signal: ctrl.signal });
    const derived = ctx.derive({});
    let heard = 0;
    const stop = derived.onAbort(() => heard++);
    derived.onAbort(() => heard++);
    stop();
    ctrl.abort();
    expect(derived.aborted).toBe(true);
    expect(heard).toBe(1);
    expect(derived.signal).toBe(ctrl.signal);
  });

  it('a context without a signal is never aborted and keeps no listener, even after its signal is read', () => {
    const ctx = new RequestContext();
    const stop = ctx.onAbort(() => {
      throw new Error('must not be called');
    });
    expect(ctx.aborted).toBe(false);
    expect(ctx.signal.aborted).toBe(false);
    expect(ctx.derive({}).aborted).toBe(false);
    stop();
  });
});
