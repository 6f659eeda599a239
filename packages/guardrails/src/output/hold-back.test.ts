import { compose, type LlmRequest, RelError, RequestContext } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitAt, streamOf } from '../../test/support';
import { PiiVault } from '../pii/pii-vault';
import { redactPii } from '../pii/redact-pii';
import { outputPolicy } from './output-policy';

// The stream hold-back guarantee: what a denied match could still become is never released.

const req: LlmRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true };

/** Streams `text` cut at `cuts` through an output policy; what the caller got before any error. */
async function run(options: Parameters<typeof outputPolicy>[0], text: string, cuts: readonly number[]) {
  const res = await compose(outputPolicy(options))(async (r) => streamOf(r, splitAt(text, cuts)))(
    req,
    new RequestContext(),
  );
  if (res.type !== 'stream') throw new Error('expected a stream');
  let received = '';
  let error: unknown;
  try {
    for await (const c of res.chunks) if (c.type === 'text-delta') received += c.text;
  } catch (e) {
    error = e;
  }
  return { received, blocked: RelError.is(error) && error.failure.kind === 'guardrail_blocked' };
}

const cuts = fc.array(fc.nat(400), { maxLength: 40 });
const filler = fc.string({ maxLength: 80 }).map((s) => s.replace(/BEGIN|internal/gi, ''));

describe('outputPolicy hold-back', () => {
  it('holds back at least the longest match of a bounded pattern, beyond holdBackChars', async () => {
    const pattern = /BEGIN-[A-Z]{20}-END/;
    await fc.assert(
      fc.asyncProperty(filler, filler, cuts, async (head, tail, at) => {
        const text = `${head}BEGIN-ABCDEFGHIJKLMNOPQRST-END${tail}`;
        const { received, blocked } = await run({ deny: [pattern], holdBackChars: 4 }, text, at);
        expect(blocked).toBe(true);
        // No part of the match was released: the caller never saw its first characters.
        expect(received).not.toContain('BEGIN-');
        expect(received.length).toBeLessThanOrEqual(head.length);
      }),
      { numRuns: 150 },
    );
  });

  it('catches a denied phrase with any run of whitespace between its words, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        filler,
        fc.nat(300),
        fc.constantFrom(' ', '\n', '\t', ' \n '),
        cuts,
        async (head, gap, space, at) => {
          const text = `${head}internal${space.repeat(gap + 1)}use only. More text follows here.`;
          const { received, blocked } = await run({ deny: ['internal use only'], holdBackChars: 4 }, text, at);
          expect(blocked).toBe(true);
          expect(received).not.toContain('internal');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('guarantees an unbounded pattern only for matches up to the hold-back (documented limit)', async () => {
    const pattern = /secret\s+code/;
    const short = 'a secret code';
    const long = `a secret${' '.repeat(40)}code`;
    // A match within the hold-back (16) is never released, wherever the stream is cut.
    for (let cut = 0; cut <= short.length; cut++) {
      const r = await run({ deny: [pattern], holdBackChars: 16 }, `${short} and more words after it`, [cut]);
      expect(r.blocked).toBe(true);
      expect(r.received).not.toContain('secret');
    }
    // A match longer than the hold-back, cut before its last word, is missed: its beginning was
    // released (and left the window) before its end arrived. The same text in one chunk is caught.
    const split = await run({ deny: [pattern], holdBackChars: 16 }, long, [long.length - 4]);
    expect(split).toEqual({ received: long, blocked: false });
    expect((await run({ deny: [pattern], holdBackChars: 16 }, long, [])).blocked).toBe(true);
  });

  it('releases all of a clean stream, whitespace runs included, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), cuts, async (text, at) => {
        fc.pre(!/internal\s+use\s+only|BEGIN-[A-Z]{20}-END/i.test(text));
        const r = await run({ deny: ['internal use only', /BEGIN-[A-Z]{20}-END/], holdBackChars: 4 }, text, at);
        expect(r).toEqual({ received: text, blocked: false });
      }),
      { numRuns: 150 },
    );
  });

  const piiPieces = [
    'Mail jo@example.com',
    ' or call +1 415-555-2671',
    ', card 4111 1111 1111 1111',
    ' IBAN GB82 WEST 1234 5698 7654 32',
    ' from 192.168.10.4',
    ' key sk-proj-abcdefghijklmnopqrstuvwx12',
    ' version 2.4.1 shipped',
    ' order 12345678',
    '. Thanks!',
    '\n',
  ];
  const piiText = fc.array(fc.constantFrom(...piiPieces), { minLength: 1, maxLength: 8 }).map((a) => a.join(''));

  it('redacts PII in a stream exactly as in the whole answer, whatever the chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(piiText, cuts, async (text, at) => {
        const r = await run({ pii: 'redact' }, text, at);
        expect(r).toEqual({ received: redactPii(text).text, blocked: false });
      }),
      { numRuns: 200 },
    );
  });

  it('restores tokenized PII from a stream split anywhere, placeholders included (property)', async () => {
    await fc.assert(
      fc.asyncProperty(piiText, fc.array(fc.nat(200), { maxLength: 40 }), fc.nat(), (text, at, cut) => {
        const vault = new PiiVault();
        const tokenized = vault.tokenize(text);
        const restorer = vault.streamRestorer();
        const chunks = splitAt(tokenized, [...at, cut % (tokenized.length + 1)]);
        const out = chunks.map((c) => restorer.push(c)).join('') + restorer.flush();
        expect(out).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
