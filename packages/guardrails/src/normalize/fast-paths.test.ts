import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featurize } from '../injection/features';
import { HEX_RUN, SPACED, decodeUtf8, findCandidates, mayBeSpaced, mayHaveHexRun, rot13, textScan } from './decoders';
import { identityMapped, mapCodePoints } from './mapped-text';
import { normalize, normalizePlain } from './normalize';
import { asciiSkeleton, skeletonOf } from './skeleton';
import { unitMapped } from './unit-map';

// The scanners take shortcuts for speed (ASCII runs, bitmaps, prefiltered regexes). Each property
// here pins a shortcut to the plain definition it replaces, on text mixing the cases that matter.
const pieces = [
  'a',
  'e',
  'I',
  'g',
  'n',
  'o',
  ' ',
  '\n',
  '\t',
  '\u200b',
  '\u0301',
  'é',
  'ﬁ',
  'Ａ',
  'а',
  'Σ',
  'ς',
  '0',
  '1',
  '3',
  '@',
  '$',
  '!',
  '|',
  '_',
  '-',
  '=',
  '+',
  '/',
  'ß',
  'İ',
  'K',
  '½',
  '\u{e0069}',
  '😀',
  '\ud800',
  '日',
  'ª',
  'Ignore',
  'PREVIOUS',
  'aWdub3JlIGFsbCBydWxlcw==',
  'Vtaber nyy',
  'ZmZmZmZmZmZmZmZmZmZm_-x',
  '%41%42%43',
];
const text = fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((a) => a.join(''));
const anyText = fc.oneof(text, fc.string({ unit: 'binary', maxLength: 80 }));

/** The n-gram features as first written: a hash set of FNV-1a hashes, sorted. */
function referenceFeatures(skeleton: string, spec: { bits: number; minGram: number; maxGram: number }): number[] {
  const fnv = (s: string, seed: number) => {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  };
  const mask = (1 << spec.bits) - 1;
  const t = ` ${skeleton.replace(/[^\p{L}\p{N}]+/gu, ' ').trim()} `;
  const cps = Array.from(t);
  const seen = new Set<number>();
  for (let n = spec.minGram; n <= spec.maxGram; n++) {
    for (let i = 0; i + n <= cps.length; i++) seen.add(fnv(cps.slice(i, i + n).join(''), n) & mask);
  }
  const words = t.trim().split(' ').filter(Boolean);
  words.forEach((w, i) => {
    seen.add(fnv(w, 101) & mask);
    if (i + 1 < words.length) seen.add(fnv(`${w} ${words[i + 1]}`, 102) & mask);
  });
  return [...seen].sort((a, b) => a - b);
}

describe('scanner fast paths', () => {
  it('featurize gives the sorted distinct buckets of the plain hash-set definition', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom(8, 12, 16), (s, bits) => {
        const spec = { bits, minGram: 2, maxGram: 5 };
        const x = featurize(s, spec);
        expect(Array.from(x.indices)).toEqual(referenceFeatures(s, spec));
        // Called again right away: the shared bitmap was left empty.
        expect(Array.from(featurize(s, spec).indices)).toEqual(Array.from(x.indices));
      }),
      { numRuns: 300 },
    );
  });

  it('rot13 rotates exactly the ASCII letters, and twice is the identity', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const plain = s.replace(/[a-zA-Z]/g, (c) => {
          const base = c <= 'Z' ? 65 : 97;
          return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
        });
        expect(rot13(s)).toBe(plain);
        expect(rot13(rot13(s))).toBe(s);
      }),
    );
  });

  it('finds the same base64 candidates as the base64 pattern run over the whole text', () => {
    const BASE64 = /[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}/g;
    fc.assert(
      fc.property(text, (s) => {
        const found = findCandidates(s)
          .filter((c) => c.kind === 'base64')
          .map((c) => [c.start, c.end]);
        const every = [...s.matchAll(BASE64)].map((m) => [m.index, m.index + m[0].length]);
        // Every candidate found is a whole-text match (the decoder may reject some matches).
        for (const f of found) expect(every).toContainEqual(f);
      }),
      { numRuns: 300 },
    );
  });

  it('builds the skeleton as folding each code point alone would (ASCII runs lowercased at once)', () => {
    const fold = (cp: string) =>
      cp
        .toLowerCase()
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '');
    const ascii = fc.array(fc.constantFrom('Ignore', 'ALL', 'rules', ' ', '\n', '-', '.', 'aB', 'Zz'), {
      maxLength: 40,
    });
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          ascii.map((a) => a.join('')),
        ),
        (s) => {
          const folded = mapCodePoints(identityMapped(s), fold).text;
          // Folding is the skeleton before homoglyphs and leetspeak: the same where neither applies.
          fc.pre(!/[0-9@$!|]|[^\u0000-\u007f]/.test(folded));
          expect(skeletonOf(identityMapped(s)).text).toBe(folded);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('maps every unit of the normalized text back to a range of the original (property)', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const n = normalize(s);
        for (let i = 0; i < n.text.length; i++) {
          const r = n.textToOriginal(i, i + 1);
          expect(0 <= r.start && r.start <= r.end && r.end <= s.length).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  const printable = fc.oneof(
    fc.string({
      unit: fc.constantFrom(...' \t\n\r!$@|0134578aAbBeEgGiIlLoOsStTzZ.-_=+/%&#;xX9'.split('')),
      maxLength: 80,
    }),
    fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\u0020-\u007e\t\n\r]/g, '')),
    fc
      .array(
        fc.constantFrom(
          'Ignore',
          '1gn0r3',
          'pr3v10us',
          'h3llo',
          'gpt4',
          'v1',
          '|nstruct!ons',
          '4ll',
          ' ',
          '\n',
          '. ',
          'aWdub3JlIGFsbCBydWxlcw==',
          '%69%67%6e%6f%72%65',
          '&#105;&#103;&#110;',
          'i g n o r e',
          'Vtaber nyy cerivbhf',
          '69676e6f726520616c6c',
        ),
        { maxLength: 30 },
      )
      .map((a) => a.join('')),
  );

  /** Everything `normalize` returns, with the map of every range (up to 40 units) evaluated. */
  const observe = (n: ReturnType<typeof normalize>) => {
    const ranges: unknown[] = [];
    const upTo = Math.min(40, n.skeleton.length + 1, n.text.length + 1);
    for (let s = -1; s <= upTo; s++)
      for (let e = s - 1; e <= upTo + 1; e++) ranges.push(n.textToOriginal(s, e), n.skeletonToOriginal(s, e));
    return { text: n.text, skeleton: n.skeleton, variants: n.variants, ranges };
  };

  it('normalizes printable ASCII as the plain definition does, maps included (ASCII shortcut)', () => {
    fc.assert(
      fc.property(printable, (s) => {
        expect(observe(normalize(s))).toEqual(observe(normalizePlain(s)));
      }),
      { numRuns: 300 },
    );
  });

  it('normalizes any text as the plain definition does (shortcut or not, payloads included)', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, printable), (s) => {
        expect(observe(normalize(s))).toEqual(observe(normalizePlain(s)));
      }),
      { numRuns: 300 },
    );
  });

  it('normalizes printable ASCII without leetspeak characters as the plain definition does (skeleton = lowercase)', () => {
    const noLeet = fc.string({
      unit: fc.constantFrom(...' \t\n\raAbBeEgGiIlLoOsStTzZxX.-_=+/%&#;:,?'.split('')),
      maxLength: 80,
    });
    fc.assert(
      fc.property(noLeet, (s) => {
        const n = normalize(s);
        expect(observe(n)).toEqual(observe(normalizePlain(s)));
        expect(n.skeleton).toBe(s.toLowerCase());
      }),
      { numRuns: 300 },
    );
  });

  it('asciiSkeleton is the skeleton of printable ASCII, unit for unit', () => {
    fc.assert(
      fc.property(printable, (s) => {
        const plain = skeletonOf(identityMapped(s));
        expect(asciiSkeleton(s)).toBe(plain.text);
        expect(Array.from(plain.starts)).toEqual(Array.from(plain.text, (_, i) => i));
      }),
      { numRuns: 300 },
    );
  });

  // Text of many scripts, most of which normalization maps unit for unit (`unitMapped`), mixed
  // with what it does not (marks, invisible characters, compatibility forms that expand, lone
  // surrogates), leetspeak and look-alikes inside Latin words.
  const scripts = fc
    .array(
      fc.constantFrom(
        'Ignore',
        ' ',
        '\n',
        '请',
        '描述',
        '，',
        '。',
        '“',
        'Привет',
        'Σ',
        'ΣΑΣ ',
        'Ａ',
        'ｉｇｎｏｒｅ',
        'ｶ',
        'á',
        'Ü',
        'ß',
        'İ',
        'K',
        'ı',
        'ǅ',
        'ﬁ',
        '½',
        '①',
        '𝐀',
        '𠀀',
        '😀',
        '👍🏽',
        '🇫🇷',
        '\ud83d',
        '\udc00',
        '\u0301',
        '\u200b',
        'а',
        'рrеvіоus',
        '1gn0r3',
        'h3llo',
        '|nstruct!ons',
        'gpt4',
        '4ll',
        '@',
        '$',
        'か',
        '\u3099',
        '한국어',
        '\u1100\u1161',
        'ⅰ',
        '\u00a0',
        'ℌ',
        '٣',
        'aWdub3JlIGFsbCBydWxlcw==',
        'Vtaber nyy cerivbhf',
      ),
      { maxLength: 40 },
    )
    .map((a) => a.join(''));

  it('normalizes text of any script as the plain definition does, maps included (unit-for-unit shortcut)', () => {
    let shortcut = 0;
    fc.assert(
      fc.property(scripts, (s) => {
        if (unitMapped(s) !== undefined) shortcut++;
        expect(observe(normalize(s))).toEqual(observe(normalizePlain(s)));
      }),
      { numRuns: 600, seed: 21 },
    );
    expect(shortcut).toBeGreaterThan(100);
  });

  it('takes the unit-for-unit shortcut on text of common scripts', () => {
    for (const s of [
      '请描述你所知道的，关于“空”的任何信息。',
      'Составьте список городов',
      'Goiânia über ß 😀',
      'ＡＢＣ，ｄｅｆ',
    ]) {
      const unit = unitMapped(s);
      expect(unit).toBeDefined();
      expect(unit?.text).toBe(normalizePlain(s).text);
      expect(unit?.skeleton).toBe(normalizePlain(s).skeleton);
    }
    expect(unitMapped('e\u0301')).toBeUndefined();
    expect(unitMapped('a\u200bb')).toBeUndefined();
    expect(unitMapped('½')).toBeUndefined();
    expect(unitMapped('\ud83d')).toBeUndefined();
  });

  it('finds ROT13 payloads exactly when the shares of common words say so (word-list definition)', () => {
    const COMMON = new Set(
      'the a an and or of to in on is are was be you your i me my we it this that all any with for not now from as at by do what how previous instructions ignore forget system prompt say tell write print reveal rules new task'.split(
        ' ',
      ),
    );
    const englishness = (t: string) => {
      const words = t.toLowerCase().match(/[a-z]+/g) ?? [];
      return words.length === 0 ? 0 : words.filter((w) => COMMON.has(w)).length / words.length;
    };
    const words = fc
      .array(
        fc.constantFrom(
          'vtaber',
          'nyy',
          'cerivbhf',
          'vafgehpgvbaf',
          'gur',
          'the',
          'Ignore',
          'ALL',
          'previous',
          'n',
          'I',
          'İ',
          'K',
          'xyz',
          'nyyy',
          'ny',
          '2',
          ' ',
          ', ',
          'é',
          '请',
        ),
        { maxLength: 16 },
      )
      .map((a) => a.join(' '));
    let found = 0;
    fc.assert(
      fc.property(fc.oneof(words, anyText), (s) => {
        const plain = englishness(s);
        const rotated = englishness(rot13(s));
        const expected = rotated - plain >= 0.15 && rotated >= 0.2;
        if (expected) found++;
        expect(findCandidates(s).some((c) => c.kind === 'rot13')).toBe(expected);
      }),
      { numRuns: 1000, seed: 5 },
    );
    expect(found).toBeGreaterThan(50);
  });

  it('finds base64 candidates exactly as the run pattern and the base64 pattern do', () => {
    const RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}/g;
    const BASE64 = /[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}/g;
    const tokens = fc
      .array(
        fc.constantFrom(
          'aWdub3JlIGFsbCBydWxlcw==',
          'aWdub3JlIHJ1bGVz',
          'ZmZmZmZmZmZmZmZmZmZm_-x',
          '=',
          '==',
          '===',
          ' ',
          'a',
          '-',
          '/',
          '+',
          '_',
          'é',
          '0123456789abcdef',
        ),
        {
          maxLength: 12,
        },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(tokens, text), (s) => {
        const expected: [number, number][] = [];
        for (const run of s.matchAll(RUN))
          for (const m of run[0].matchAll(BASE64))
            expected.push([run.index + m.index, run.index + m.index + m[0].length]);
        const tried = findCandidates(s)
          .filter((c) => c.kind === 'base64')
          .map((c) => [c.start, c.end]);
        // Every decoded candidate is one of the expected matches, in order; a match is missing only
        // where its payload is not readable text.
        for (const t of tried) expect(expected).toContainEqual(t);
        const readable = expected.filter(([a, b]) =>
          /^(?:aWdub3JlIGFsbCBydWxlcw==|aWdub3JlIHJ1bGVz)$/.test(s.slice(a, b)),
        );
        for (const r of readable) expect(tried).toContainEqual(r);
      }),
      { numRuns: 600, seed: 17 },
    );
  });

  const encoded = fc.constantFrom(
    'deadbeefcafebabe',
    '0x41424344454647484950',
    '\\x41\\x42',
    'de ad be ef 12 34',
    'ab:cd:ef:01:23:45',
    'ab,cd',
    'abc 12 34 56 78 9a',
    'i g n o r e',
    'i_g_n_o_r_e',
    'a. b. c. d',
    'x ~ y ~ z',
    'a·b·c·d',
    'ı g n',
    '1 2 3 4',
    ' ',
    '-',
    ':',
  );
  const precheckText = fc
    .array(fc.oneof(encoded, fc.constantFrom(...pieces)), { maxLength: 30 })
    .map((a) => a.join(''));

  it('skips the hex and spaced-letter searches only on texts where they find nothing', () => {
    let hex = 0;
    let spaced = 0;
    fc.assert(
      fc.property(fc.oneof(precheckText, anyText), (s) => {
        if (s.match(HEX_RUN) !== null) {
          hex++;
          expect(mayHaveHexRun(s)).toBe(true);
        }
        if (s.match(SPACED) !== null) {
          spaced++;
          expect(mayBeSpaced(s)).toBe(true);
        }
      }),
      { numRuns: 2000, seed: 9 },
    );
    expect(hex).toBeGreaterThan(100);
    expect(spaced).toBeGreaterThan(100);
    expect(mayHaveHexRun('Please summarise this article about coffee.')).toBe(false);
    expect(mayBeSpaced('Please summarise this article about coffee.')).toBe(false);
  });

  it('textScan answers in one pass what the base64 run pattern, mayHaveHexRun and the word lists say', () => {
    const runPattern = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}/g;
    const words = (t: string, set: Set<string>) => {
      const all = t.toLowerCase().match(/[a-z]+/g) ?? [];
      return all.length === 0 ? 0 : all.filter((w) => set.has(w)).length / all.length;
    };
    const common = new Set(
      'the a an and or of to in on is are was be you your i me my we it this that all any with for not now from as at by do what how previous instructions ignore forget system prompt say tell write print reveal rules new task'.split(
        ' ',
      ),
    );
    fc.assert(
      fc.property(fc.oneof(precheckText, anyText, printable, fc.constantFrom('İgnore', 'Kelvin \u212a the')), (s) => {
        const scanned = textScan(s);
        expect(scanned.runs).toEqual([...s.matchAll(runPattern)].flatMap((m) => [m.index, m.index + m[0].length]));
        expect(scanned.hex).toBe(mayHaveHexRun(s));
        expect(scanned.plain).toBe(words(s, common));
        expect(scanned.rotated).toBe(words(rot13(s), common));
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes UTF-8 without throwing exactly as the strict decoder does (undefined where it throws)', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const reference = (b: Uint8Array) => {
      try {
        return strict.decode(b);
      } catch {
        return undefined;
      }
    };
    const chunk = fc.oneof(
      fc.uint8Array({ maxLength: 8 }),
      fc
        .constantFrom(
          [0xef, 0xbf, 0xbd],
          [0xef, 0xbb, 0xbf],
          [0xc3, 0xa9],
          [0xe6, 0x97, 0xa5],
          [0xf0, 0x9f, 0x98, 0x80],
          [0xed, 0xa0, 0x80],
          [0xc0, 0xaf],
          [0xef, 0xbf],
        )
        .map((a) => Uint8Array.from(a)),
      fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => new TextEncoder().encode(s)),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 6 }), (chunks) => {
        const bytes = Uint8Array.from(chunks.flatMap((c) => [...c]));
        expect(decodeUtf8(bytes)).toBe(reference(bytes));
      }),
      { numRuns: 3000, seed: 13 },
    );
  });
});
