import { type Handler, RelError, RequestContext } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drain, request, streamResponse } from '../test/helpers';
import { router } from './router';

interface Behaviour {
  tokens: number;
  cutAfter: number | undefined;
  supportsPrefill: boolean;
  rejectsPrefill: boolean;
}

const behaviour: fc.Arbitrary<Behaviour> = fc.record({
  tokens: fc.integer({ min: 1, max: 8 }),
  cutAfter: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
  supportsPrefill: fc.boolean(),
  rejectsPrefill: fc.boolean(),
});

function target(name: string, b: Behaviour): Handler {
  return async (req) => {
    if (b.rejectsPrefill && req.messages.at(-1)?.role === 'assistant')
      throw new RelError({ kind: 'invalid_request', param: 'messages', status: 400 });
    const tokens = Array.from({ length: b.tokens }, (_, i) => `${name}${i} `);
    return streamResponse(
      req.model,
      tokens,
      b.cutAfter !== undefined && b.cutAfter < b.tokens ? b.cutAfter : undefined,
    );
  };
}

describe('mid-stream failover (property)', () => {
  it('never delivers a truncated answer as a success: a finish only ends a stream some target completed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(behaviour, { minLength: 1, maxLength: 3 }), async (behaviours) => {
        const names = behaviours.map((_, i) => `t${i}-`);
        const route = router({
          targets: behaviours.map((b, i) => ({
            name: names[i]!,
            handler: target(names[i]!, b),
            model: `m${i}`,
            supportsPrefill: b.supportsPrefill,
            breaker: false as const,
          })),
        });
        const out = await drain(await route({ ...request, stream: true }, new RequestContext()));
        if (out.error === undefined) {
          expect(out.finish?.type).toBe('finish');
          // The text ends with the complete answer of the target that finished it.
          const finisher = behaviours.findIndex(
            (_, i) => out.finish?.type === 'finish' && out.finish.model === `m${i}-v1`,
          );
          const b = behaviours[finisher]!;
          const full = Array.from({ length: b.tokens }, (_, k) => `${names[finisher]}${k} `).join('');
          expect(out.text.endsWith(full)).toBe(true);
        } else {
          expect(out.finish).toBeUndefined();
          expect(RelError.is(out.error)).toBe(true);
          const err = out.error as RelError;
          if (out.chunks > 0) expect(err.failure).toEqual({ kind: 'stream_interrupted', emittedChunks: out.chunks });
        }
      }),
      { numRuns: 300 },
    );
  });
});
