import type { Completion, Handler, LlmRequest, StreamChunk, Usage } from '@rel/core';

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
