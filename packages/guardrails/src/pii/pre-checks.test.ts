import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPiiDetector, resolveOverlaps } from './detect-pii';
import { detectCards, detectEmails, detectIbans, detectIps, detectSsns } from './detectors';
import { detectPhones } from './phone';
import type { PiiMatch } from './pii-types';
import {
  mayHaveCard,
  mayHaveEmail,
  mayHaveIban,
  mayHaveIp,
  mayHavePhone,
  mayHaveSsn,
  mayHaveUnknownSecret,
  type TextShape,
  textShape,
} from './pre-checks';
import { detectSecrets, detectUnknownSecrets } from './secrets';

const digits = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'),
    minLength: min,
    maxLength: max,
  });

/** Texts built from the pieces PII is made of, so every detector fires on a good share of them. */
const piece = fc.oneof(
  digits(1, 20),
  fc.constantFrom(
    ' ',
    ' ',
    '-',
    '.',
    ':',
    '::',
    '/',
    '(',
    ')',
    '+',
    '\n',
    ',',
    '@',
    '#',
    ' ext. ',
    '.com',
    'é',
    '１２３',
  ),
  fc.constantFrom(
    'card',
    'SSN:',
    'phone',
    'call',
    'Visa',
    'serial',
    'IBAN',
    'version',
    'mail',
    'jo',
    'GB',
    'NO',
    'QA',
    'abcd',
  ),
  fc.constantFrom(
    'jo@example.com',
    'ü@bücher.de',
    'GB82 WEST 1234 5698 7654 32',
    'NO9386011117947',
    '4111 1111 1111 1111',
    '460-89-9847',
    '460899847',
    '(415) 555-2671',
    '+44 20 7946 0958',
    '10.0.0.12',
    'fe80::1:2',
    'abcd:ef01::beef',
    'Zx8Qp3Lr9Vt2Wk7Ny4Bm6Hs1',
    'AKIAIOSFODNN7EXAMPLE',
  ),
);
const pieceText = fc.array(piece, { minLength: 1, maxLength: 14 }).map((p) => p.join(''));
const anyText = fc.oneof(
  { arbitrary: pieceText, weight: 6 },
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

const secretOptions = { minEntropy: 3.5, minLength: 20 };
const unknownSecrets = (text: string) => {
  const out: PiiMatch[] = [];
  detectUnknownSecrets(text, secretOptions, out);
  return out;
};

const checks: readonly [string, (text: string) => PiiMatch[], (s: TextShape) => boolean][] = [
  ['email', detectEmails, mayHaveEmail],
  ['iban', detectIbans, mayHaveIban],
  ['credit_card', detectCards, mayHaveCard],
  ['ssn', detectSsns, mayHaveSsn],
  ['ip_address', detectIps, mayHaveIp],
  ['phone (US)', (t) => detectPhones(t, 'US'), mayHavePhone],
  ['phone (GB)', (t) => detectPhones(t, 'GB'), mayHavePhone],
  ['unknown secret', unknownSecrets, mayHaveUnknownSecret],
];

describe('pre-checks', () => {
  it('textShape counts ASCII digits, @, dots and colons (not other numerals)', () => {
    expect(textShape('a@b.co 12:3 ١٢٣ １２')).toEqual({ digits: 3, ats: 1, dots: 1, colons: 1 });
    expect(textShape('')).toEqual({ digits: 0, ats: 0, dots: 0, colons: 0 });
  });

  for (const [name, detect, mayHave] of checks) {
    it(`the ${name} pre-check never skips a text where the detector finds something`, () => {
      let hits = 0;
      fc.assert(
        fc.property(anyText, (text) => {
          if (detect(text).length === 0) return;
          hits++;
          expect(mayHave(textShape(text))).toBe(true);
        }),
        { numRuns: 2000, seed: 7 },
      );
      // The property is only worth something if the detector fired on the generated texts.
      expect(hits).toBeGreaterThan(20);
    });
  }

  it('createPiiDetector gives what running every detector without pre-checks gives', () => {
    const gated = createPiiDetector();
    const ungated = (text: string) =>
      text.length === 0
        ? []
        : resolveOverlaps([
            ...detectSecrets(text, secretOptions),
            ...detectEmails(text),
            ...detectIbans(text),
            ...detectCards(text),
            ...detectSsns(text),
            ...detectIps(text),
            ...detectPhones(text, 'US'),
          ]);
    fc.assert(
      fc.property(anyText, (text) => {
        expect(gated(text)).toEqual(ungated(text));
      }),
      { numRuns: 1500, seed: 11 },
    );
  });
});
