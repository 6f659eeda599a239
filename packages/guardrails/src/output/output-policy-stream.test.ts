import { compose, type LlmRequest, RelError, RequestContext, type StreamChunk } from '@rel/core';
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

  /** A source of `chunks` that records whether it was closed. */
  function source(chunks: readonly StreamChunk[]) {
    const state = { closed: false, read: 0 };
    async function* gen(): AsyncGenerator<StreamChunk> {
      try {
        for (const c of chunks) {
          state.read++;
          yield c;
        }
      } finally {
        state.closed = true;
      }
    }
    return { state, chunks: gen() };
  }
  const finish: StreamChunk = { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } };

  it('closes the source before a block reaches the caller, and when the caller stops reading', async () => {
    const blocked = source([
      { type: 'text-delta', text: 'a b internal ' },
      { type: 'text-delta', text: 'use only' },
      finish,
    ]);
    const policy = compose(outputPolicy({ deny: ['internal use only'] }));
    const res = await policy(async (r) => ({ ...streamOf(r, []), chunks: blocked.chunks }))(req, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    const error = await it.next().catch((e) => e);
    expect(RelError.is(error) && error.failure).toMatchObject({ kind: 'guardrail_blocked', categories: ['deny'] });
    expect(blocked.state).toEqual({ closed: true, read: 2 });
    expect(await it.next()).toEqual({ done: true, value: undefined });

    const long = source([{ type: 'text-delta', text: 'x'.repeat(200) }, { type: 'text-delta', text: 'more' }, finish]);
    const res2 = await policy(async (r) => ({ ...streamOf(r, []), chunks: long.chunks }))(req, new RequestContext());
    if (res2.type !== 'stream') throw new Error('expected a stream');
    for await (const c of res2.chunks) {
      expect(c).toEqual({ type: 'text-delta', text: 'x'.repeat(200 - 64) });
      break;
    }
    expect(long.state).toEqual({ closed: true, read: 1 });
  });

  it('passes other chunks through in order and records the verdict when the finish is read', async () => {
    const ctx = new RequestContext();
    const tool: StreamChunk = { type: 'tool-call-delta', index: 0, id: 't', name: 'f', argumentsDelta: '{}' };
    const { chunks } = source([{ type: 'text-delta', text: 'hello there' }, tool, finish]);
    const res = await compose(outputPolicy({ deny: ['internal use only'] }))(async (r) => ({
      ...streamOf(r, []),
      chunks,
    }))(req, ctx);
    if (res.type !== 'stream') throw new Error('expected a stream');
    const it = res.chunks[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(tool);
    expect((await it.next()).value).toEqual({ type: 'text-delta', text: 'hello there' });
    expect(ctx.verdicts).toEqual([]);
    expect((await it.next()).value).toEqual(finish);
    expect(ctx.verdicts).toMatchObject([{ name: 'output-policy', stage: 'output', action: 'pass' }]);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('releases the rest of a clean stream that ends without a finish, and rethrows a source error', async () => {
    const policy = compose(outputPolicy({ deny: ['internal use only'] }));
    const ended = await policy(async (r) => ({
      ...streamOf(r, []),
      chunks: source([{ type: 'text-delta', text: 'abc' }]).chunks,
    }))(req, new RequestContext());
    if (ended.type !== 'stream') throw new Error('expected a stream');
    const got: StreamChunk[] = [];
    for await (const c of ended.chunks) got.push(c);
    expect(got).toEqual([{ type: 'text-delta', text: 'abc' }]);

    const boom = new Error('reset');
    async function* failing(): AsyncGenerator<StreamChunk> {
      yield { type: 'text-delta', text: 'abc' };
      throw boom;
    }
    const failed = await policy(async (r) => ({ ...streamOf(r, []), chunks: failing() }))(req, new RequestContext());
    if (failed.type !== 'stream') throw new Error('expected a stream');
    const it = failed.chunks[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toBe(boom);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('gives an async classifier each released segment and what the caller already has', async () => {
    const seen: { text: string; final: boolean; before: string }[] = [];
    const classifier = async (text: string, info: { final: boolean; before: string }) => {
      seen.push({ text, ...info });
      return text.includes('7') ? { action: 'redact' as const, text: '#' } : { action: 'pass' as const };
    };
    const text = `${'a'.repeat(80)}${'7'.repeat(80)}${'b'.repeat(30)}`;
    const res = await compose(outputPolicy({ classifier, holdBackChars: 10, classifierMinChars: 50 }))(async (r) =>
      streamOf(r, splitAt(text, [40, 100, 120, 180])),
    )(req, new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const got: string[] = [];
    for await (const c of res.chunks) if (c.type === 'text-delta') got.push(c.text);
    expect(got).toEqual(['#', '#', 'b'.repeat(20)]);
    expect(seen.map((s) => [s.text.length, s.final, s.before])).toEqual([
      [90, false, ''],
      [80, false, '#'],
      [20, true, '##'],
    ]);
  });
});
