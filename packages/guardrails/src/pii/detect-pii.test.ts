import { describe, expect, it } from 'vitest';
import { createPiiDetector, detectPii } from './detect-pii';

const found = (text: string, options?: Parameters<typeof detectPii>[1]) =>
  detectPii(text, options).map((m) => [m.type, text.slice(m.start, m.end)]);

describe('detectPii', () => {
  it('finds each type with its exact span', () => {
    expect(found('mail Jo.Doe+x@example.co.uk now')).toEqual([['email', 'Jo.Doe+x@example.co.uk']]);
    expect(found('card 4111 1111 1111 1111 exp 12/27')).toEqual([['credit_card', '4111 1111 1111 1111']]);
    expect(found('pay to GB82 WEST 1234 5698 7654 32 today')).toEqual([['iban', 'GB82 WEST 1234 5698 7654 32']]);
    expect(found('SSN: 460-89-9847.')).toEqual([['ssn', '460-89-9847']]);
    expect(found('from 10.0.0.12 and 2001:db8::8a2e:370:7334')).toEqual([
      ['ip_address', '10.0.0.12'],
      ['ip_address', '2001:db8::8a2e:370:7334'],
    ]);
    expect(found('call (415) 555-2671 or +44 20 7946 0958')).toEqual([
      ['phone', '(415) 555-2671'],
      ['phone', '+44 20 7946 0958'],
    ]);
  });

  it('finds API keys by known prefix and unknown secrets by entropy', () => {
    const keys = [
      'sk-proj-abcDEF1234567890abcdEFGH',
      'sk-ant-api03-Xy9_kLmN0pQrStUvWxYz012345',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
      'xoxb-123456789012-abcdefghijkl',
      'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q',
      'glpat-Ab12Cd34Ef56Gh78Ij90',
    ];
    for (const key of keys) expect(found(`key=${key} end`), key).toEqual([['secret', key]]);
    expect(found('token Zx8Qp3Lr9Vt2Wk7Ny4Bm6Hs1 here')).toEqual([['secret', 'Zx8Qp3Lr9Vt2Wk7Ny4Bm6Hs1']]);
  });

  it('leaves look-alikes alone: dates, times, versions, UUIDs, hashes, identifiers, prices', () => {
    for (const text of [
      'Meeting on 2024-05-01 at 10:30:45',
      'Released 1.2.3 and 2.0.0-rc.1',
      'id 550e8400-e29b-41d4-a716-446655440000',
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'function getUserAccountSettingsById2024()',
      'it costs 12.345.678 EUR, about 1 000 000 times more',
      'ISBN 978-3-16-148410-0',
      'a card-like 4111 1111 1111 1112 that fails Luhn',
      'the order number is 2270-66-1551',
    ]) {
      expect(found(text), text).toEqual([]);
    }
  });

  const benign: string[] = [
    'Upgrade to version 1.2.3.4 of the agent, or Chrome 120.0.0.1.',
    'Bind to 127.0.0.1 or 0.0.0.0, or ::1; netmask 255.255.255.0 and 255.255.240.0.',
    'Image: iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
    'integrity sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+W+1Mw5B6wcmpSoJw8A2HGDJa8MRSFRBwxvbJxw==',
    'image sha256:2B7412e6465c3c7fc5bb21d3e6f1917c167358449fecac8176c6e496e5c1f05f',
    'pod web-7d4b9c8f6d-x2kqz restarted; container api_3f9a2c_worker_77b1 too',
    'Serial no. 5105-1051-0510-5100 on the label; IMEI 490154203237518.',
    'Your order 123-456-7890 has shipped; order number 4155552671 was cancelled.',
  ];
  it.each(benign)('finds nothing in realistic benign text: %s', (text) => {
    expect(found(text)).toEqual([]);
  });

  it('still finds the real thing next to those look-alikes', () => {
    expect(found('server 10.0.0.12, ::1 and 2001:db8::8a2e:370:7334')).toEqual([
      ['ip_address', '10.0.0.12'],
      ['ip_address', '2001:db8::8a2e:370:7334'],
    ]);
    expect(found('key Ab3dE5gH7jK9mN1pQ3sT5vX7zA9bC1dE')).toEqual([['secret', 'Ab3dE5gH7jK9mN1pQ3sT5vX7zA9bC1dE']]);
    expect(found('card serial 5105 1051 0510 5100')).toEqual([['credit_card', '5105 1051 0510 5100']]);
  });

  it('gives a Luhn-valid card priority over a phone reading of the same digits', () => {
    expect(found('call 4111 1111 1111 1111')).toEqual([['credit_card', '4111 1111 1111 1111']]);
  });

  it('finds a card followed by a CVV in the same digit run', () => {
    expect(found('4111 1111 1111 1111 123')).toEqual([['credit_card', '4111 1111 1111 1111']]);
  });

  it('needs an SSN word for nine bare digits', () => {
    expect(found('ref 460899847')).toEqual([]);
    expect(found('my ssn is 460899847')).toEqual([['ssn', '460899847']]);
  });

  it('reads national phone formats through a default country and phone words', () => {
    expect(found('ring 020 7946 0958', { defaultCountry: 'GB' })).toEqual([['phone', '020 7946 0958']]);
    expect(found('Phone:\n467 3395')).toEqual([['phone', '467 3395']]);
  });

  it('reports only the requested types but still shields their digits from other types', () => {
    const detect = createPiiDetector({ types: ['phone'] });
    expect(detect('card 4111 1111 1111 1111, tel 415-555-2671').map((m) => m.type)).toEqual(['phone']);
  });

  it('rejects a bad option naming the field', () => {
    expect(() => createPiiDetector({ defaultCountry: 'XX' })).toThrow(/defaultCountry/);
    expect(() => createPiiDetector({ types: ['nope' as 'email'] })).toThrow(/types/);
  });
});
