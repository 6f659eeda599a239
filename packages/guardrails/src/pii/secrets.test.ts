import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KNOWN_PREFIX, KNOWN_SECRETS, detectSecrets } from './secrets';

/** One credential of each known shape, in the order of `KNOWN_SECRETS`. */
const EXAMPLES = [
  `sk-ant-api03-${'a'.repeat(24)}`,
  `sk-proj-${'A1b2'.repeat(6)}`,
  `sk-${'Ab1'.repeat(8)}`,
  'AKIAIOSFODNN7EXAMPLE',
  `ghp_${'a1B2'.repeat(9)}`,
  `github_pat_${'a1B2'.repeat(6)}`,
  'xoxb-1234567890-abcdef',
  `AIza${'a1B2_'.repeat(7)}`,
  `glpat-${'a1B2'.repeat(5)}`,
  `sk_live_${'a1B2'.repeat(4)}`,
  `whsec_${'a1B2'.repeat(6)}`,
  `SG.${'a'.repeat(22)}.${'b'.repeat(43)}`,
  `hf_${'a1B2'.repeat(8)}`,
  `npm_${'a1B2'.repeat(9)}`,
  `gsk_${'a1B2'.repeat(10)}`,
  `xai-${'a1B2'.repeat(10)}`,
  `pplx-${'a1B2'.repeat(10)}`,
  `shpat_${'a1b2'.repeat(8)}`,
  `dop_v1_${'a1b2'.repeat(16)}`,
  'eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeK',
  '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----',
  'https://user:hunter22@example.com',
];

const options = { minEntropy: 3.5, minLength: 20 };

/** `detectSecrets` as first written: every known pattern run, then the token scan. */
function plainKnown(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const re of KNOWN_SECRETS) {
    for (const m of text.matchAll(re)) {
      if (!/[A-Za-z0-9]/.test(text[m.index - 1] ?? '')) out.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  return out;
}

describe('known-secret prefilter', () => {
  it('every known pattern has an example, which its pattern finds and the prefilter lets through', () => {
    expect(EXAMPLES).toHaveLength(KNOWN_SECRETS.length);
    KNOWN_SECRETS.forEach((re, i) => {
      expect([...EXAMPLES[i]!.matchAll(re)].length).toBeGreaterThan(0);
      expect(KNOWN_PREFIX.test(EXAMPLES[i]!)).toBe(true);
    });
  });

  it('a text the prefilter skips holds no known secret, and detection equals running every pattern (property)', () => {
    const pieces = [...EXAMPLES, ...EXAMPLES.map((e) => e.slice(0, 5)), ' ', 'x', 'key=', '\n', 'A1b2C3', '://', '@'];
    const text = fc.oneof(
      fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((a) => a.join('')),
      fc.string({ maxLength: 80 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        const known = plainKnown(s);
        if (!KNOWN_PREFIX.test(s)) expect(known).toEqual([]);
        const found = detectSecrets(s, options).map((m) => ({ start: m.start, end: m.end }));
        for (const k of known) expect(found).toContainEqual(k);
      }),
      { numRuns: 500 },
    );
  });
});
