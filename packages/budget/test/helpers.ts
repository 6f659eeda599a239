import {
  type Completion,
  type Handler,
  type LimitOp,
  type LlmRequest,
  RelError,
  type SettleEntry,
  type StateStore,
  type StreamChunk,
  type Usage,
} from '@rel/core';

/** A chat request of `words` words on `model`. */
export function request(model = 'test-model', maxTokens = 100, words = 20): LlmRequest {
  return {
    model,
    maxTokens,
    messages: [{ role: 'user', content: Array.from({ length: words }, () => 'hello').join(' ') }],
  };
}

/** A handler that answers with `usage`, recording it on the context as provider adapters do. */
export function answering(usage: Usage, model = 'test-model'): Handler {
  return async (req, ctx) => {
    ctx.recordUsage(usage);
    const res: Completion = {
      type: 'completion',
      id: 'c1',
      requestedModel: req.model,
      model,
      message: { role: 'assistant', content: 'ok' },
      finishReason: 'stop',
      usage,
    };
    return res;
  };
}

/** A handler that streams `n` text chunks then a finish with `usage` (not recorded on the context). */
export function streaming(usage: Usage, n = 5, onYield?: (i: number) => void): Handler {
  return async (req) => ({
    type: 'stream',
    requestedModel: req.model,
    chunks: (async function* (): AsyncGenerator<StreamChunk> {
      for (let i = 0; i < n; i++) {
        onYield?.(i);
        yield { type: 'text-delta', text: `t${i}` };
      }
      yield { type: 'finish', finishReason: 'stop', usage };
    })(),
  });
}

/** What `RedisStore` rejects with when Redis answers with an error (the `StateStore` contract). */
function refused(): RelError {
  const cause = Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), {
    name: 'ReplyError',
  });
  return new RelError({ kind: 'internal', message: `faulty store: ${cause.message}` }, { cause });
}

/**
 * A real store behind a fault switch: `up` passes calls through; `down` rejects them as an
 * unreachable Redis does; `lost-reply` applies them and then rejects, as a command that timed out
 * while Redis still ran it; `reply-error` rejects as a server answering with an error.
 */
export class FaultyStore implements StateStore {
  readonly name = 'faulty';
  mode: 'up' | 'down' | 'lost-reply' | 'reply-error' = 'up';
  /** Settlements touching these keys are always answered with an error of the store's own. */
  readonly rejectKeys = new Set<string>();
  /** Refuse as a store that passes the raw ioredis `ReplyError` through, instead of a `RelError` `internal`. */
  rawRefusals = false;
  calls = 0;
  constructor(readonly inner: StateStore) {}

  async #run<T>(op: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.mode === 'down') throw new Error('Connection is closed.');
    if (this.mode === 'reply-error') throw refused();
    const result = await op();
    if (this.mode === 'lost-reply') throw new Error('Command timed out');
    return result;
  }
  acquire(ops: readonly LimitOp[]) {
    return this.#run(() => this.inner.acquire(ops));
  }
  settle(id: string, entries: readonly SettleEntry[], options?: { retry?: boolean }) {
    if (entries.some((e) => this.rejectKeys.has(e.key))) {
      return Promise.reject(this.rawRefusals ? (refused().cause as Error) : refused());
    }
    return this.#run(() => this.inner.settle(id, entries, options));
  }
  total(key: string, windowMs: number) {
    return this.#run(() => this.inner.total(key, windowMs));
  }
  get(key: string) {
    return this.#run(() => this.inner.get(key));
  }
  set(key: string, value: string, ttlMs?: number) {
    return this.#run(() => this.inner.set(key, value, ttlMs));
  }
  compareAndSet(key: string, expected: string | undefined, value: string, ttlMs?: number) {
    return this.#run(() => this.inner.compareAndSet(key, expected, value, ttlMs));
  }
  increment(key: string, by: number, ttlMs: number) {
    return this.#run(() => this.inner.increment(key, by, ttlMs));
  }
  delete(key: string) {
    return this.#run(() => this.inner.delete(key));
  }
  close() {
    return this.inner.close();
  }
}
