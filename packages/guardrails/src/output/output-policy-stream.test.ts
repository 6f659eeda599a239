import { compose, type LlmRequest, RelError, RequestContext } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { completionOf, splitAt, streamOf } from '../../test/support';
import { isSpace } from './is-space';
import { outputPolicy } from './output-policy';

// A stream's chunks and verdict are those of the plain hold-back model: before each release the
// whole window (the last `holdBack` released characters and the pending text) is checked as a
// completion would be, then all but the last `holdBack` pending characters (and at least as many
// non-space characters as the longest phrase has) are released.

const req: LlmRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true };
const HOLD_BACK = 40;

type Options = { deny: (string | RegExp)[]; canary: string };

/** The categories a completion with `text` is blocked for, or undefined when it passes. */
async function blockedFor(options: Options, text: string): Promise<readonly string[] | undefined> {
  const policy = compose(outputPolicy({ ...options, holdBackChars: HOLD_BACK }))(async (r) => completionOf(r, text));
  try {
    await policy({ ...req, stream: false }, new RequestContext());
    return undefined;
  } catch (e) {
    if (RelError.is(e) && e.failure.kind === 'guardrail_blocked') return e.failure.categories;
    throw e;
  }
}

/** The chunks the plain model releases for `pieces`, and the categories it blocks for. */
async function model(options: Options, pieces: readonly string[]) {
  const phrases = options.deny.filter((d): d is string => typeof d === 'string');
  const nonSpace = Math.max(0, ...phrases.map((p) => [...p].filter((c) => !isSpace(c.charCodeAt(0))).length));
  const chunks: string[] = [];
  let tail = '';
  let pending = '';
  for (const [i, piece] of [...pieces, ''].entries()) {
    const final = i === pieces.length;
    pending += piece;
    const blocked = await blockedFor(options, tail + pending);
    if (blocked) return { chunks, blocked };
    let cut = final ? pending.length : Math.max(0, pending.length - HOLD_BACK);
    if (!final && nonSpace > 0) {
      let seen = 0;
      let keep = 0;
      for (let j = pending.length - 1; j >= 0 && keep === 0; j--)
        if (!isSpace(pending.charCodeAt(j)) && ++seen >= nonSpace) keep = j;
      cut = Math.min(cut, keep);
    }
    if (cut > 0) chunks.push(pending.slice(0, cut));
    tail = (tail + pending.slice(0, cut)).slice(-HOLD_BACK);
    pending = pending.slice(cut);
  }
  return { chunks, blocked: undefined };
}

/** The text chunks `outputPolicy` streams for `pieces`, and the categories it blocks for. */
async function streamed(options: Options, pieces: readonly string[]) {
  const policy = compose(outputPolicy({ ...options, holdBackChars: HOLD_BACK }))(async (r) => streamOf(r, pieces));
  const res = await policy(req, new RequestContext());
  if (res.type !== 'stream') throw new Error('expected a stream');
  const chunks: string[] = [];
  try {
    for await (const c of res.chunks) if (c.type === 'text-delta') chunks.push(c.text);
  } catch (e) {
    if (RelError.is(e) && e.failure.kind === 'guardrail_blocked') return { chunks, blocked: e.failure.categories };
    throw e;
  }
  return { chunks, blocked: undefined };
}

const words = [
  'internal',
  'INTERNAL',
  'use',
  'Use',
  'only',
  'onlY',
  ' ',
  '  ',
  '\n',
  '\u00a0',
  '\t',
  'x',
  'İ',
  'Σ',
  'ς',
  '😀',
  'K',
  'rel-canary-',
  'abcdefghijklmnop',
  'ABCDEFGH',
  'ijklmnop',
  'secret',
  'q7',
  'İstanbul',
];
const phrases = [
  'internal use only',
  'Internal \n use\u00a0ONLY',
  'internal  use',
  'use only',
  'İstanbul-secret',
  'ΣECRET-ς-token',
  'x😀x-canary',
  'rel-canary-abcdefghijklmnop',
  'REL-CANARY-ABCDEFGHIJKLMNOP',
];
const text = fc
  .array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...words) }, fc.constantFrom(...phrases)), { maxLength: 60 })
  .map((w) => w.join(''));
const cuts = fc.array(fc.nat(500), { maxLength: 50 });
const options = fc.record({
  deny: fc.subarray(['internal use only', 'use  only', /^only/m, /(?<=x)secret/, /q7\b/, /İ{2}/u], { minLength: 1 }),
  canary: fc.constantFrom('rel-canary-abcdefghijklmnop', 'İstanbul-secret', 'ΣECRET-ς-token', 'x😀x-canary'),
});

describe('outputPolicy stream checks', () => {
  it('releases the same chunks and blocks for the same categories as the plain hold-back model', async () => {
    await fc.assert(
      fc.asyncProperty(options, text, cuts, async (o, t, at) => {
        const pieces = splitAt(t, at);
        expect(await streamed(o, pieces)).toEqual(await model(o, pieces));
      }),
      { numRuns: 400 },
    );
  });
});
