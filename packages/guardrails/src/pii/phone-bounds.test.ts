import fc from 'fast-check';
import {
  type CountryCode,
  findNumbers,
  getCountries,
  getCountryCallingCode,
  getExampleNumber,
} from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { describe, expect, it } from 'vitest';
import { detectPhones } from './phone';
import { minPhoneDigits } from './phone-bounds';

const COUNTRIES: CountryCode[] = ['US', 'GB', 'DE', 'AT', 'FR', 'GG', 'AG', 'AR', 'SM', 'NF', 'JP', 'BR', 'IN', 'MG'];

const digitRun = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: min, maxLength: max });

/** Texts of short digit groups, prefixes and separators: where the bound decides whether to ask libphonenumber. */
const phoneish = fc
  .array(
    fc.oneof(
      digitRun(1, 8),
      fc.constantFrom(
        '+',
        '+1 ',
        '+49 ',
        '+43',
        '+378 ',
        '+672 ',
        '00',
        '011 ',
        '0',
        '1',
        '(',
        ')',
        ' ',
        '-',
        '.',
        '/',
      ),
      fc.constantFrom(' call ', ' phone: ', 'x', ' ext. ', '#', '١٢٣', '１２', '٣', 'é', '\n', 'a'),
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((a) => a.join(''));

describe('minPhoneDigits', () => {
  it('reads the bound off the metadata: +49 or +43 and four digits for the US, fewer where a transform inserts digits', () => {
    expect(minPhoneDigits('US')).toBe(6);
    expect(minPhoneDigits('GB')).toBe(6);
    // Guernsey's plan turns six national digits into ten (1481$1), so its own bound is lower.
    expect(minPhoneDigits('GG')).toBe(3);
  });

  it('never exceeds the digits of any example number, national or international, for any default country', () => {
    const numbers = getCountries().flatMap((c) => {
      const n = getExampleNumber(c, examples);
      return n ? [{ country: c, national: n.formatNational(), international: n.formatInternational() }] : [];
    });
    expect(numbers.length).toBeGreaterThan(200);
    const digitsOf = (s: string) => s.replace(/\D/g, '').length;
    for (const d of getCountries()) {
      const bound = minPhoneDigits(d);
      for (const n of numbers) {
        expect(digitsOf(n.international)).toBeGreaterThanOrEqual(bound);
        if (getCountryCallingCode(n.country) === getCountryCallingCode(d))
          expect(digitsOf(n.national)).toBeGreaterThanOrEqual(bound);
      }
    }
  });

  it('libphonenumber finds no number with fewer digits than the bound (property, several countries)', () => {
    fc.assert(
      fc.property(phoneish, fc.constantFrom(...COUNTRIES), (text, country) => {
        for (const found of findNumbers(text, { defaultCountry: country, v2: true })) {
          const value = text.slice(found.startsAt, found.endsAt);
          expect(Array.from(value.matchAll(/\p{Nd}/gu)).length).toBeGreaterThanOrEqual(minPhoneDigits(country));
        }
      }),
      { numRuns: 3000, seed: 3 },
    );
  });

  it('detectPhones finds what it finds without the bound (property, several countries)', () => {
    let hits = 0;
    fc.assert(
      fc.property(phoneish, fc.constantFrom(...COUNTRIES), (text, country) => {
        const bounded = detectPhones(text, country);
        if (bounded.length > 0) hits++;
        expect(bounded).toEqual(detectPhones(text, country, 0));
      }),
      { numRuns: 3000, seed: 4 },
    );
    expect(hits).toBeGreaterThan(100);
  });
});
