/**
 * Cheap necessary conditions for each detector, read from one pass over the text. A pre-check that
 * fails proves its detector would find nothing, so the detector is skipped; one that passes proves
 * nothing (the detector still decides). `pre-checks.test.ts` pins every pre-check to its detector.
 */

/** What the pre-checks need to know of a text: counts of ASCII digits and of a few separators. */
export interface TextShape {
  /** ASCII digits `0`-`9` (the `\d` every numeric detector and validator counts). */
  readonly digits: number;
  /** `@` characters. */
  readonly ats: number;
  /** `.` characters. */
  readonly dots: number;
  /** `:` characters. */
  readonly colons: number;
}

/**
 * Counts what the pre-checks read, in one pass without allocating more than the result.
 * @example textShape('a@b.co 12') // { digits: 2, ats: 1, dots: 1, colons: 0 }
 */
export function textShape(text: string): TextShape {
  let digits = 0;
  let ats = 0;
  let dots = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46) dots++;
    else if (c === 58) colons++;
    else if (c === 64) ats++;
  }
  return { digits, ats, dots, colons };
}

/** An email holds an `@`. */
export const mayHaveEmail = (s: TextShape): boolean => s.ats > 0;
/** An IBAN starts with two letters and two check digits. */
export const mayHaveIban = (s: TextShape): boolean => s.digits >= 2;
/** A card number has 12 to 19 digits. */
export const mayHaveCard = (s: TextShape): boolean => s.digits >= 12;
/** An SSN has nine digits, bare or separated. */
export const mayHaveSsn = (s: TextShape): boolean => s.digits >= 9;
/** A dotted quad has four numbers and three dots; an IPv6 address has at least two colons. */
export const mayHaveIp = (s: TextShape): boolean => (s.digits >= 4 && s.dots >= 3) || s.colons >= 2;
/** Every phone candidate (libphonenumber's regions and the phone-shaped runs) has five digits or more. */
export const mayHavePhone = (s: TextShape): boolean => s.digits >= 5;
/** An unknown secret (a random token, not a known prefix) holds at least two digits. */
export const mayHaveUnknownSecret = (s: TextShape): boolean => s.digits >= 2;
