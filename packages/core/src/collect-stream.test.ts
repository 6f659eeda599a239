import { describe, expect, it } from 'vitest';
import { collectStream } from './collect-stream';
import { RelError } from './rel-error';
import type { StreamChunk } from './response';

describe('collectStream', () => {
  it('fails with stream_interrupted when no finish chunk arrives', async () => {
    const chunks = (async function* (): AsyncGenerator<StreamChunk> {
      yield { type: 'text-delta', text: 'partial' };
    })();
    const err = await collectStream({ type: 'stream', requestedModel: 'm', chunks }).catch((e) => e);
    expect(RelError.is(err) && err.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: 1 });
  });

  it('merges tool-call deltas by index', async () => {
    const chunks = (async function* (): AsyncGenerator<StreamChunk> {
      yield { type: 'tool-call-delta', index: 0, id: 'c1', name: 'get', argumentsDelta: '{"a"' };
      yield { type: 'tool-call-delta', index: 0, argumentsDelta: ':1}' };
      yield { type: 'finish', finishReason: 'tool_calls', model: 'v1' };
    })();
    const c = await collectStream({ type: 'stream', requestedModel: 'm', chunks });
    expect(c.message.toolCalls).toEqual([{ id: 'c1', name: 'get', arguments: '{"a":1}' }]);
    expect(c.message.content).toBeNull();
    expect(c.model).toBe('v1');
  });
});
