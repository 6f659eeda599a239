import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ibanValid, ipv4Valid, ipv6Valid, luhnValid, shannonEntropy, ssnValid } from './validators';

/** The Luhn check digit that completes `payload`. */
function luhnCheckDigit(payload: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(payload + d)) return String(d);
  throw new Error('no check digit');
}

describe('luhnValid', () => {
  it('accepts real test card numbers with or without separators', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111 1111 1111 1111')).toBe(true);
    expect(luhnValid('3782-822463-10005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
  });

  it('accepts every payload completed with its check digit and rejects any single-digit change', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^\d{11,18}$/),
        fc.nat(17),
        fc.integer({ min: 1, max: 9 }),
        (payload, at, delta) => {
          const card = payload + luhnCheckDigit(payload);
          expect(luhnValid(card)).toBe(true);
          const i = at % card.length;
          const changed = card.slice(0, i) + ((Number(card[i]) + delta) % 10) + card.slice(i + 1);
          expect(luhnValid(changed)).toBe(false);
        },
      ),
    );
  });
});

describe('ibanValid', () => {
  it('accepts registry examples from several countries, spaced or compact, any case', () => {
    for (const iban of [
      'GB82 WEST 1234 5698 7654 32',
      'DE89370400440532013000',
      'FR1420041010050500013M02606',
      'NL91ABNA0417164300',
      'be68539007547034',
      'CH9300762011623852957',
    ]) {
      expect(ibanValid(iban), iban).toBe(true);
    }
  });

  it('rejects a wrong country length, an unknown country and a broken check', () => {
    expect(ibanValid('GB82WEST123456987654')).toBe(false);
    expect(ibanValid('ZZ82WEST12345698765432')).toBe(false);
    expect(ibanValid('GB83WEST12345698765432')).toBe(false);
  });

  it('rejects any single changed digit of a valid IBAN (mod 97 catches it)', () => {
    const iban = 'DE89370400440532013000';
    fc.assert(
      fc.property(fc.integer({ min: 2, max: iban.length - 1 }), fc.integer({ min: 1, max: 9 }), (i, delta) => {
        const changed = iban.slice(0, i) + ((Number(iban[i]) + delta) % 10) + iban.slice(i + 1);
        expect(ibanValid(changed)).toBe(false);
      }),
    );
  });
});

describe('ssnValid', () => {
  it('accepts numbers in the issued ranges', () => {
    expect(ssnValid('460-89-9847')).toBe(true);
    expect(ssnValid('023 01 0866')).toBe(true);
  });

  it('rejects area 000, 666 and 900-999, group 00, serial 0000 and advertising numbers', () => {
    for (const ssn of ['000-12-3456', '666-12-3456', '900-12-3456', '999-12-3456', '123-00-4567', '123-45-0000']) {
      expect(ssnValid(ssn), ssn).toBe(false);
    }
    expect(ssnValid('078-05-1120')).toBe(false);
    expect(ssnValid('123-45-6789')).toBe(false);
    expect(ssnValid('12-345-678')).toBe(false);
  });
});

describe('IP validators', () => {
  it('accepts dotted quads up to 255 without leading zeros', () => {
    expect(ipv4Valid('192.168.0.1')).toBe(true);
    expect(ipv4Valid('256.1.1.1')).toBe(false);
    expect(ipv4Valid('01.2.3.4')).toBe(false);
  });

  it('accepts full, compressed and IPv4-embedded IPv6 and rejects malformed ones', () => {
    for (const ip of ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:db8::1', '::ffff:192.0.2.128', 'fe80::']) {
      expect(ipv6Valid(ip), ip).toBe(true);
    }
    for (const ip of ['12:20:39', '1::2::3', '2001:db8:::1', 'g001:db8::1', '1:2:3:4:5:6:7:8:9']) {
      expect(ipv6Valid(ip), ip).toBe(false);
    }
  });
});

describe('shannonEntropy', () => {
  it('is 0 for one repeated character and log2(n) for n distinct characters', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBeCloseTo(2);
    expect(shannonEntropy('')).toBe(0);
  });
});
