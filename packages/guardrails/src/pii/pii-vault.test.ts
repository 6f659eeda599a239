import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitAt } from '../../test/support';
import { PiiVault } from './pii-vault';

const piiValue = fc.constantFrom(
  'jo@example.com',
  'ann.lee@mail.example.org',
  '4111 1111 1111 1111',
  'GB82 WEST 1234 5698 7654 32',
  '460-89-9847',
  '10.0.0.12',
  '+44 20 7946 0958',
  'sk-proj-abcDEF1234567890abcdEFGH',
  '[EMAIL_1]',
  '[PHONE_2',
);
const filler = fc.constantFrom(' ', 'hello ', ', ', '[', ']', 'x_1] ', '\n', 'call ', 'mail: ', '[CREDIT_CARD_', '');
const textWithPii = fc
  .array(fc.oneof(piiValue, filler, fc.string({ maxLength: 6 })), { maxLength: 12 })
  .map((p) => p.join(''));

describe('PiiVault', () => {
  it('replaces values with stable typed placeholders and restores them', () => {
    const vault = new PiiVault();
    const safe = vault.tokenize('mail jo@example.com, then jo@example.com again; card 4111 1111 1111 1111');
    expect(safe).toBe('mail [EMAIL_1], then [EMAIL_1] again; card [CREDIT_CARD_1]');
    expect(vault.tokenize('cc ann@example.org')).toBe('cc [EMAIL_2]');
    expect(vault.restore('Sent to [EMAIL_1] and [EMAIL_2], not [EMAIL_3].')).toBe(
      'Sent to jo@example.com and ann@example.org, not [EMAIL_3].',
    );
    expect(vault.size).toBe(3);
  });

  it('round-trips any text: restore(tokenize(x)) === x', () => {
    fc.assert(
      fc.property(textWithPii, (text) => {
        const vault = new PiiVault();
        expect(vault.restore(vault.tokenize(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('never issues a placeholder that the input already contains literally', () => {
    const vault = new PiiVault();
    const safe = vault.tokenize('literal [EMAIL_1] and jo@example.com');
    expect(safe).toBe('literal [EMAIL_1] and [EMAIL_2]');
    expect(vault.restore(safe)).toBe('literal [EMAIL_1] and jo@example.com');
  });

  it('restores a streamed answer whatever the chunking, placeholders split included', () => {
    fc.assert(
      fc.property(textWithPii, fc.array(fc.nat(200), { maxLength: 20 }), (text, cuts) => {
        const vault = new PiiVault();
        const safe = vault.tokenize(text);
        const restorer = vault.streamRestorer();
        const out =
          splitAt(safe, cuts)
            .map((c) => restorer.push(c))
            .join('') + restorer.flush();
        expect(out).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('holds back a split placeholder and nothing more than one placeholder', () => {
    const vault = new PiiVault();
    vault.tokenize('jo@example.com');
    const r = vault.streamRestorer();
    expect(r.push('Hi [EMA')).toBe('Hi ');
    expect(r.push('IL_1] ok [')).toBe('jo@example.com ok ');
    expect(r.push('not a placeholder')).toBe('[not a placeholder');
    expect(r.flush()).toBe('');
  });

  it('JSON-escapes restored values when asked, for tool-call arguments', () => {
    const vault = new PiiVault();
    vault.placeholderFor('secret', 'a"b\\c');
    expect(vault.restore('{"k":"[SECRET_1]"}', (v) => JSON.stringify(v).slice(1, -1))).toBe('{"k":"a\\"b\\\\c"}');
  });
});
