import {
  type Completion,
  type LlmRequest,
  RelError,
  type StreamChunk,
  type StreamingCompletion,
  abortReason,
} from '@rel/core';

export const req: LlmRequest = { model: 'gpt-primary', messages: [{ role: 'user', content: 'hi' }] };
export const streamReq: LlmRequest = { ...req, stream: true };

export function completion(model = 'gpt-primary', content = 'ok'): Completion {
  return {
    type: 'completion',
    id: 'cmpl_1',
    requestedModel: model,
    model: `${model}-2024-08-06`,
    message: { role: 'assistant', content },
    finishReason: 'stop',
    usage: { inputTokens: 1, outputTokens: 1 },
  };
}

export const text = (t: string): StreamChunk => ({ type: 'text-delta', text: t });
export const finish: StreamChunk = { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 2 } };

/** A stream that records whether it was closed; `step` runs before each chunk and may wait or throw. */
export function scriptedStream(
  chunks: readonly StreamChunk[],
  step: (index: number, signal: AbortSignal | undefined) => Promise<void> | void = () => {},
  signal?: AbortSignal,
): { response: StreamingCompletion; state: { closed: boolean; pulled: number } } {
  const state = { closed: false, pulled: 0 };
  const gen = async function* (): AsyncGenerator<StreamChunk> {
    try {
      for (let i = 0; i < chunks.length; i++) {
        await step(i, signal);
        if (signal?.aborted) throw abortReason(signal);
        state.pulled++;
        yield chunks[i]!;
      }
    } finally {
      state.closed = true;
    }
  };
  return { response: { type: 'stream', requestedModel: 'gpt-primary', chunks: gen() }, state };
}

/** Observes a promise without letting its rejection go unhandled. */
export function observe<T>(p: Promise<T>): { settled: boolean; value?: T; error?: unknown; promise: Promise<void> } {
  const o: { settled: boolean; value?: T; error?: unknown; promise: Promise<void> } = {
    settled: false,
    promise: Promise.resolve(),
  };
  o.promise = p.then(
    (v) => {
      o.settled = true;
      o.value = v;
    },
    (e: unknown) => {
      o.settled = true;
      o.error = e;
    },
  );
  return o;
}

export function kindOf(error: unknown): string | undefined {
  return RelError.is(error) ? error.failure.kind : undefined;
}

export const unavailable = () => new RelError({ kind: 'provider_unavailable', status: 503 });
export const rateLimited = (retryAfterMs?: number) =>
  new RelError({ kind: 'rate_limited', status: 429, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

/** Waits until `signal` aborts, then rejects with its reason. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(abortReason(signal));
    signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
  });
}
