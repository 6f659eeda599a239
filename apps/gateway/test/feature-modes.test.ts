import { writeFileSync } from 'node:fs';
import { MemoryStore, RelError, type StateStore } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { FEATURE_MODES_KEY, FeatureModes } from '../src/feature-modes';
import { writeConfig } from './child-process';
import { KEYS, type Stack, startStack, testConfig } from './helpers';

/**
 * A real MemoryStore behind a switch: while `down`, every call rejects as an unreachable store
 * would; `afterRead` runs between a read and its answer (to line up concurrent writers).
 */
class SwitchableStore implements StateStore {
  readonly name = 'switchable';
  down = false;
  afterRead: (() => Promise<void>) | undefined;
  failedCompareAndSets = 0;
  readonly inner = new MemoryStore();

  #check(): void {
    if (this.down) throw new Error('store unreachable');
  }
  async acquire(ops: Parameters<StateStore['acquire']>[0]) {
    this.#check();
    return this.inner.acquire(ops);
  }
  async settle(...args: Parameters<StateStore['settle']>) {
    this.#check();
    return this.inner.settle(...args);
  }
  async total(key: string, windowMs: number) {
    this.#check();
    return this.inner.total(key, windowMs);
  }
  async get(key: string) {
    this.#check();
    const value = await this.inner.get(key);
    await this.afterRead?.();
    return value;
  }
  async set(key: string, value: string, ttlMs?: number) {
    this.#check();
    return this.inner.set(key, value, ttlMs);
  }
  async compareAndSet(key: string, expected: string | undefined, value: string, ttlMs?: number) {
    this.#check();
    const ok = await this.inner.compareAndSet(key, expected, value, ttlMs);
    if (!ok) this.failedCompareAndSets++;
    return ok;
  }
  async increment(key: string, by: number, ttlMs: number) {
    this.#check();
    return this.inner.increment(key, by, ttlMs);
  }
  async delete(key: string) {
    this.#check();
    return this.inner.delete(key);
  }
  async close() {}
}

/** Holds every read until `n` reads are waiting, then lets them all through: the writers then race. */
function barrier(n: number): () => Promise<void> {
  let waiting = 0;
  let release: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return () => {
    if (++waiting >= n) release();
    return all;
  };
}

describe('FeatureModes without a store', () => {
  it('changes the mode at once, in this process only', async () => {
    const modes = new FeatureModes();
    expect(modes.shared).toBe(false);
    const done = modes.set('suggestions', 'degraded');
    expect(modes.mode('suggestions')).toBe('degraded');
    expect(modes.any).toBe(true);
    await done;
    await modes.set('suggestions', 'normal');
    expect(modes.any).toBe(false);
    expect(await modes.retain(() => false)).toEqual([]);
  });

  it('refuses a bad refreshMs naming the field', () => {
    expect(() => new FeatureModes({ refreshMs: 0 })).toThrow(/refreshMs/);
  });
});

describe('FeatureModes over one store', () => {
  it('another instance sees a change only once it refreshes, then serves from its own copy', async () => {
    const store = new MemoryStore();
    const a = new FeatureModes({ store });
    const b = new FeatureModes({ store });
    await a.set('suggestions', 'degraded');
    expect(a.mode('suggestions')).toBe('degraded');
    expect(b.mode('suggestions')).toBe('normal');
    await b.refresh();
    expect(b.mode('suggestions')).toBe('degraded');
    expect(JSON.parse((await store.get(FEATURE_MODES_KEY)) ?? '')).toEqual({ degraded: ['suggestions'] });
    await b.set('suggestions', 'normal');
    await a.refresh();
    expect(a.any).toBe(false);
  });

  it('two instances writing different features at the same moment both land (compare-and-set retries)', async () => {
    const store = new SwitchableStore();
    const a = new FeatureModes({ store });
    const b = new FeatureModes({ store });
    await a.set('old', 'degraded');
    store.afterRead = barrier(2); // both read the same value before either writes
    await Promise.all([a.set('answers', 'degraded'), b.set('suggestions', 'degraded')]);
    store.afterRead = undefined;
    expect(store.failedCompareAndSets).toBeGreaterThanOrEqual(1);
    await Promise.all([a.refresh(), b.refresh()]);
    for (const m of [a, b]) expect(m.degraded().sort()).toEqual(['answers', 'old', 'suggestions']);
  });

  it('many instances racing on set and unset leave exactly the expected set', async () => {
    const store = new SwitchableStore();
    const all = Array.from({ length: 6 }, () => new FeatureModes({ store }));
    await all[0]?.set('f5', 'degraded');
    store.afterRead = barrier(6);
    await Promise.all(all.map((m, i) => m.set(`f${i}`, i === 5 ? 'normal' : 'degraded')));
    store.afterRead = undefined;
    const check = new FeatureModes({ store });
    await check.refresh();
    expect(check.degraded().sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('a store failure on write rejects with dependency_unavailable (503) and leaves the mode unchanged', async () => {
    const store = new SwitchableStore();
    const errors: string[] = [];
    const a = new FeatureModes({ store, onStoreError: (_e, op) => errors.push(op) });
    store.down = true;
    const error = await a.set('suggestions', 'degraded').catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure.kind).toBe('dependency_unavailable');
    expect((error as RelError).info.httpStatus).toBe(503);
    expect(a.mode('suggestions')).toBe('normal');
    expect(errors).toEqual(['write']);
    store.down = false;
    expect(await store.get(FEATURE_MODES_KEY)).toBeUndefined();
    await a.set('suggestions', 'degraded'); // a later write is not stuck behind the failed one
    expect(a.mode('suggestions')).toBe('degraded');
  });

  it('a failed refresh keeps the last known modes and reports the store error', async () => {
    const store = new SwitchableStore();
    const errors: string[] = [];
    const a = new FeatureModes({ store });
    const b = new FeatureModes({ store, onStoreError: (_e, op) => errors.push(op) });
    await a.set('suggestions', 'degraded');
    await b.refresh();
    store.down = true;
    await expect(b.refresh()).rejects.toThrow(/cannot read the shared feature modes/);
    expect(b.mode('suggestions')).toBe('degraded');
    expect(errors).toEqual(['refresh']);
  });

  it('an unreadable stored value is reported on refresh (modes kept) and replaced by the next write', async () => {
    const store = new MemoryStore();
    const a = new FeatureModes({ store });
    await a.set('suggestions', 'degraded');
    await store.set(FEATURE_MODES_KEY, 'not json');
    await expect(a.refresh()).rejects.toThrow(/cannot read/);
    expect(a.mode('suggestions')).toBe('degraded');
    await a.set('answers', 'degraded');
    expect(JSON.parse((await store.get(FEATURE_MODES_KEY)) ?? '')).toEqual({ degraded: ['answers', 'suggestions'] });
  });

  it('start() re-reads the store every refreshMs until stop()', async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const a = new FeatureModes({ store });
    const b = new FeatureModes({ store, clock, refreshMs: 250 });
    b.start();
    await a.set('suggestions', 'degraded');
    await clock.advance(249);
    expect(b.mode('suggestions')).toBe('normal');
    await clock.advance(1);
    expect(b.mode('suggestions')).toBe('degraded');
    await a.set('suggestions', 'normal');
    await clock.advance(250);
    expect(b.any).toBe(false);
    await b.stop();
    expect(clock.pending).toBe(0);
    await a.set('suggestions', 'degraded');
    await clock.advance(1_000);
    expect(b.any).toBe(false);
  });

  it('a refresh that read before a write on the same instance does not undo it', async () => {
    const store = new SwitchableStore();
    const a = new FeatureModes({ store });
    let readDone: () => void = () => {};
    const read = new Promise<void>((resolve) => {
      readDone = resolve;
    });
    let answer: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      answer = resolve;
    });
    store.afterRead = () => {
      store.afterRead = undefined; // only the refresh's read is held back
      readDone();
      return gate;
    };
    const refreshing = a.refresh();
    await read; // the refresh has read "nothing degraded"
    await a.set('suggestions', 'degraded');
    answer();
    await refreshing;
    expect(a.mode('suggestions')).toBe('degraded');
  });

  it('retain() sets unlisted features normal in the store too and names them', async () => {
    const store = new MemoryStore();
    const a = new FeatureModes({ store });
    const b = new FeatureModes({ store });
    await a.set('gone', 'degraded');
    await a.set('kept', 'degraded');
    expect(await b.retain((name) => name === 'kept')).toEqual(['gone']);
    await a.refresh();
    expect(a.degraded()).toEqual(['kept']);
  });
});

describe('a gateway sharing feature modes through its store', () => {
  const ADMIN_KEY = 'admin-key-for-feature-modes-0123';
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('answers 503 when the store refuses the change, and the feature keeps calling its routes', async () => {
    const store = new SwitchableStore();
    stack = await startStack({ admin: { keyEnv: 'REL_ADMIN_KEY' } }, { store, env: { REL_ADMIN_KEY: ADMIN_KEY } });
    const s = stack;
    const post = (mode: string) =>
      fetch(`${s.gateway.url}/admin/features/suggestions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ mode }),
      });
    store.down = true;
    const refused = await post('degraded');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/feature modes/);
    expect(s.logs.some((l) => l.includes('"rel.gateway.store_error"') && l.includes('"feature_modes"'))).toBe(true);
    store.down = false;
    expect(s.gateway.featureModes.mode('suggestions')).toBe('normal');
    const ask = () =>
      s
        .client(KEYS.acme)
        .chat.completions.create(
          { model: 'chat', messages: [{ role: 'user', content: 'Hi' }] },
          { headers: { 'x-rel-feature': 'suggestions' } },
        );
    expect((await ask()).model).toMatch(/^gpt-primary/);
    expect((await post('degraded')).status).toBe(200);
    expect((await ask()).model).toBe('rel-degraded');
  });

  it('a gateway starting while a feature is forced degraded in the store answers degraded from its first request', async () => {
    const store = new SwitchableStore();
    await new FeatureModes({ store }).set('suggestions', 'degraded'); // another instance, earlier
    stack = await startStack({}, { store });
    const res = await stack
      .client(KEYS.acme)
      .chat.completions.create(
        { model: 'chat', messages: [{ role: 'user', content: 'Hi' }] },
        { headers: { 'x-rel-feature': 'suggestions' } },
      );
    expect(res.choices[0]?.message.content).toBe('No suggestions right now.');
    expect(stack.fake.attempts.length).toBe(0);
  });

  it('a reload that drops a feature clears its shared mode, so the feature comes back normal', async () => {
    const store = new SwitchableStore();
    const file = writeConfig({});
    stack = await startStack(
      { admin: { keyEnv: 'REL_ADMIN_KEY' } },
      { store, env: { REL_ADMIN_KEY: ADMIN_KEY }, configFile: file },
    );
    const base = {
      ...testConfig(stack.gateway.config.providers.fake?.baseURL ?? ''),
      admin: { keyEnv: 'REL_ADMIN_KEY' },
    };
    const other = new FeatureModes({ store }); // another instance on the same store
    await stack.gateway.controls.feature('suggestions', 'degraded');
    await other.refresh();
    expect(other.mode('suggestions')).toBe('degraded');

    writeFileSync(file, JSON.stringify({ ...base, features: {} }));
    expect((await stack.gateway.reload()).ok).toBe(true);
    expect(stack.logs.some((l) => l.includes('"rel.gateway.feature_mode_dropped"'))).toBe(true);
    await other.refresh();
    expect(other.any).toBe(false);

    writeFileSync(file, JSON.stringify(base));
    expect((await stack.gateway.reload()).ok).toBe(true);
    const state = await stack.gateway.controls.state();
    expect(state.features).toContainEqual(expect.objectContaining({ name: 'suggestions', mode: 'normal' }));
  });
});
