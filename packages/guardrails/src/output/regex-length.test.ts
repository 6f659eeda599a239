import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxMatchLength } from './regex-length';

describe('maxMatchLength', () => {
  const cases: [RegExp, number][] = [
    [/abc/, 3],
    [/\bAPI[-_ ]?KEY\b/i, 7],
    [/a|bcd|ef/, 3],
    [/(?:ab){2,3}c?/, 7],
    [/x{4}/, 4],
    [/(?<word>ab)(?=cd)(?!e)(?<=a)(?<!z)/, 2],
    [/^\d{3}-\d{2}-\d{4}$/, 11],
    [/./u, 2],
    // biome-ignore lint/complexity/useRegexLiterals: a `v` literal needs an ES2024 target in tsc
    [new RegExp('[^a]', 'v'), 2],
    [/\u{1F600}\u0041\x41\cJ\./u, 6],
    [/\p{L}{2}/u, 4],
    [/😀/, 2],
    [/a*/, Number.POSITIVE_INFINITY],
    [/secret\s+code/, Number.POSITIVE_INFINITY],
    [/a{2,}/, Number.POSITIVE_INFINITY],
    [/(a)\1/, Number.POSITIVE_INFINITY],
    [/(?:\b)*x/, 1],
  ];
  it.each(cases)('bounds %s at %s code units', (re, max) => {
    expect(maxMatchLength(re)).toBe(max);
  });

  it('is never below the length of a match (property, bounded patterns on random text)', () => {
    const patterns = [/\bAPI[-_ ]?KEY\b/giu, /(?:ab|c){1,4}d?/g, /[a-c]{2,5}(?:x|yz)?/giu, /.{3}b/gu, /\S\s\S/gu];
    const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'x', 'y', 'z', ' ', '-', 'API', 'KEY', '😀', '\n'), {
      maxLength: 40,
    });
    fc.assert(
      fc.property(text, fc.constantFrom(...patterns), (parts, re) => {
        const s = parts.join('');
        for (const m of s.matchAll(re)) expect(m[0].length).toBeLessThanOrEqual(maxMatchLength(re));
      }),
    );
  });
});
