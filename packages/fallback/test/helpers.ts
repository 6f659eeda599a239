import {
  type Completion,
  type Handler,
  type LlmRequest,
  type LlmResponse,
  RelError,
  type RelFailure,
  type StreamChunk,
} from '@rel/core';

/** A completion as model `model` would answer it. */
export function completion(model: string, text = `answer from ${model}`, outputTokens = 5): Completion {
  return {
    type: 'completion',
    id: `id-${model}`,
    requestedModel: model,
    model: `${model}-v1`,
    message: { role: 'assistant', content: text },
    finishReason: 'stop',
    usage: { inputTokens: 3, outputTokens },
  };
}

/** One scripted behaviour of a test handler. */
export type Step =
  | { ok: true; text?: string }
  | { fail: RelFailure }
  | { stream: string[]; cutAfter?: number; error?: RelFailure };

/**
 * A handler that plays `steps` in order (the last one repeats) and logs every request it saw:
 * real behaviour, no mocking library.
 */
export function scripted(steps: Step[]): Handler & { seen: LlmRequest[] } {
  const seen: LlmRequest[] = [];
  let i = 0;
  const handler = async (req: LlmRequest): Promise<LlmResponse> => {
    seen.push(req);
    const step = steps[Math.min(i++, steps.length - 1)]!;
    if ('fail' in step) throw new RelError(step.fail);
    if ('ok' in step) return completion(req.model, step.text);
    return streamResponse(req.model, step.stream, step.cutAfter, step.error);
  };
  return Object.assign(handler, { seen });
}

/** A stream of `tokens`, cut (thrown) after `cutAfter` of them when set. */
export function streamResponse(model: string, tokens: string[], cutAfter?: number, error?: RelFailure): LlmResponse {
  return {
    type: 'stream',
    requestedModel: model,
    chunks: (async function* (): AsyncGenerator<StreamChunk> {
      for (const [n, text] of tokens.entries()) {
        if (cutAfter !== undefined && n >= cutAfter)
          throw new RelError(error ?? { kind: 'stream_interrupted', emittedChunks: n });
        yield { type: 'text-delta', text };
      }
      yield {
        type: 'finish',
        finishReason: 'stop',
        model: `${model}-v1`,
        usage: { inputTokens: 3, outputTokens: tokens.length },
      };
    })(),
  };
}

/** Reads a stream to the end: its text, its finish chunk, and the error it threw if any. */
export async function drain(
  res: LlmResponse,
): Promise<{ text: string; chunks: number; finish?: StreamChunk; error?: unknown }> {
  if (res.type !== 'stream') throw new Error('expected a stream');
  let text = '';
  let chunks = 0;
  let finish: StreamChunk | undefined;
  try {
    for await (const c of res.chunks) {
      if (c.type === 'text-delta') text += c.text;
      if (c.type === 'finish') finish = c;
      else chunks++;
    }
  } catch (error) {
    return { text, chunks, ...(finish ? { finish } : {}), error };
  }
  return { text, chunks, ...(finish ? { finish } : {}) };
}

export const request: LlmRequest = { model: 'alias', messages: [{ role: 'user', content: 'hello' }] };
