import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataTexts } from '../../test/support';
import { normalize } from '../normalize/normalize';
import { signatureHits } from './detect';
import { LiteralScanner } from './literal-scanner';
import { requiredLiterals } from './required-literals';
import { SignaturePrefilter } from './signature-prefilter';
import { SIGNATURES, matchSignature } from './signatures';

/** Every skeleton the signatures run on for `text`, with whether it is run squeezed. */
function skeletonsOf(text: string): { skeleton: string; squeezed: boolean }[] {
  const n = normalize(text);
  return [
    { skeleton: n.skeleton, squeezed: false },
    ...n.variants.map((v) => ({ skeleton: v.skeleton, squeezed: v.kind.endsWith('spaced') })),
  ];
}

const at = (start: number, end: number) => ({ start, end });

const CLAUSES = SIGNATURES.map((s) => ({ plain: requiredLiterals(s.re), squeezed: requiredLiterals(s.squeezed) }));
const gap = fc.constantFrom(' ', ' ', ' ', '', '  ', ' all ', ' the ', ' your ', ' me ', ': ', '\n', ', ', ' x ');
/** A signature's required words in order, one of each clause, with gaps: often a match, else a near miss. */
const phrase = fc
  .tuple(
    fc.nat(SIGNATURES.length - 1),
    fc.boolean(),
    fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
    fc.array(gap, { minLength: 8, maxLength: 8 }),
  )
  .map(([k, squeezed, picks, gaps]) =>
    CLAUSES[k]![squeezed ? 'squeezed' : 'plain'].map((c, i) => c[picks[i % 8]! % c.length]! + gaps[i % 8]!).join(''),
  );
const pieces = fc.oneof(
  { weight: 4, arbitrary: phrase },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ' ',
      '  ',
      '\n',
      '. ',
      ', ',
      ': ',
      '-',
      '"',
      '<',
      '>',
      '|',
      '[',
      ']',
      '(',
      ')',
      '!',
      '?',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom('all', 'the', 'your', 'previous', 'instructions', 'system prompt', 'ai', 'you are'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
);
const signatureText = fc.array(pieces, { maxLength: 12 }).map((a) => a.join(''));

describe('signature prefilter', () => {
  it('gives the hits of running every signature on every skeleton of every data-file text', () => {
    let matched = 0;
    for (const text of dataTexts()) {
      for (const { skeleton, squeezed } of skeletonsOf(text)) {
        const all = signatureHits(skeleton, squeezed, at, undefined, false);
        matched += all.length;
        expect(signatureHits(skeleton, squeezed, at, undefined, true)).toEqual(all);
      }
    }
    expect(matched).toBeGreaterThan(200);
  });

  it('gives the hits of running every signature on random texts of signature words, plain and squeezed', () => {
    let matched = 0;
    fc.assert(
      fc.property(signatureText, fc.boolean(), (text, squeezed) => {
        const all = signatureHits(text, squeezed, at, undefined, false);
        matched += all.length;
        expect(signatureHits(text, squeezed, at, undefined, true)).toEqual(all);
        for (const { skeleton, squeezed: sq } of skeletonsOf(text)) {
          expect(signatureHits(skeleton, sq, at, undefined, true)).toEqual(
            signatureHits(skeleton, sq, at, undefined, false),
          );
        }
      }),
      { numRuns: 3000, seed: 7 },
    );
    expect(matched).toBeGreaterThan(500);
  });

  it('lets through every signature that matches, and skips one whose required word is absent', () => {
    const prefilter = new SignaturePrefilter(SIGNATURES);
    fc.assert(
      fc.property(signatureText, fc.boolean(), (text, squeezed) => {
        const run = prefilter.candidates(text, squeezed);
        SIGNATURES.forEach((sig, k) => {
          if (!matchSignature(sig, text, squeezed).next().done) expect(run[k]).toBe(1);
        });
      }),
      { numRuns: 800, seed: 11 },
    );
    const k = SIGNATURES.findIndex((s) => s.id === 'chat-token');
    expect(prefilter.candidates('a plain question about the weather', false)[k]).toBe(0);
    expect(prefilter.candidates('<|im_start|>', false)[k]).toBe(1);
  });
});

describe('requiredLiterals', () => {
  it('reads alternatives, optional parts, classes and escapes', () => {
    expect(requiredLiterals(/(?:ignore|forget) all rules?/u)).toEqual([['ignore', 'forget'], [' all rule']]);
    expect(requiredLiterals(/a(?:bc)?d[xy]e\.f\s*g/u)).toEqual([['a'], ['d'], ['e.f'], ['g']]);
    expect(requiredLiterals(/(?:abc|x?)def/u)).toEqual([['def']]);
    expect(requiredLiterals(/(?=abc)x|yz/u)).toEqual([['x', 'yz']]);
    expect(requiredLiterals(/abc/iu)).toEqual([]);
    expect(requiredLiterals(/(?<name>ab)\k<name>/u)).toEqual([]);
  });

  it('finds in every match of every signature one literal of each clause', () => {
    const texts = dataTexts()
      .filter((_, i) => i % 3 === 0)
      .flatMap(skeletonsOf);
    const sample = fc
      .sample(signatureText, { numRuns: 800, seed: 3 })
      .map((skeleton) => ({ skeleton, squeezed: true }));
    for (const { skeleton, squeezed } of [...texts, ...sample]) {
      for (const [k, sig] of SIGNATURES.entries()) {
        const clauses = CLAUSES[k]![squeezed ? 'squeezed' : 'plain'];
        for (const m of matchSignature(sig, skeleton, squeezed)) {
          const found = skeleton.slice(m.index, m.index + m.length);
          for (const clause of clauses) expect(clause.some((l) => found.includes(l))).toBe(true);
        }
      }
    }
  });
});

describe('LiteralScanner', () => {
  it('reports exactly the strings that occur, overlapping, nested and non-ASCII ones included', () => {
    const alphabet = fc.constantFrom('a', 'b', 'ab', 'ba', 'é', '日', '😀', ' ', 'x');
    const word = fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.uniqueArray(word, { minLength: 1, maxLength: 12 }),
        fc.array(alphabet, { maxLength: 30 }),
        (strings, parts) => {
          const text = parts.join('');
          const seen = new Uint8Array(strings.length);
          new LiteralScanner(strings).occurring(text, seen);
          expect([...seen]).toEqual(strings.map((s) => (text.includes(s) ? 1 : 0)));
        },
      ),
      { numRuns: 500, seed: 5 },
    );
  });
});
