/**
 * Characters that render as nothing (or reorder what is shown) and are used to hide or split
 * words: zero-width characters, bidi controls, variation selectors, Unicode tags, soft hyphens and
 * other format or control characters. Newline, carriage return and tab are not among them.
 */
// Built from a string: the class lists single code points, some of them combining, on purpose.
const INVISIBLE = new RegExp(
  '^[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f' +
    '\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff0-\\ufffb\\u{e0000}-\\u{e007f}\\u{e0100}-\\u{e01ef}]$',
  'u',
);

/** True for a code point that is stripped before every check. */
export function isInvisible(cp: string): boolean {
  const code = cp.charCodeAt(0);
  // Printable ASCII, tab, newline and carriage return: the common case, answered without the regex.
  if (cp.length === 1 && ((code >= 0x20 && code < 0x7f) || code === 0x09 || code === 0x0a || code === 0x0d))
    return false;
  return INVISIBLE.test(cp);
}

/** The ASCII character a Unicode tag (U+E0020..U+E007E) stands for, or undefined. */
export function tagToAscii(cp: string): string | undefined {
  const code = cp.codePointAt(0) ?? 0;
  if (code >= 0xe0020 && code <= 0xe007e) return String.fromCharCode(code - 0xe0000);
  return undefined;
}

/**
 * Runs of ASCII smuggled in Unicode tag characters, decoded, with their original ranges.
 * @example decodeTagRuns('hi\u{E0069}\u{E0067}') // [{ text: 'ig', start: 2, end: 6 }]
 */
export function decodeTagRuns(text: string): { text: string; start: number; end: number }[] {
  const runs: { text: string; start: number; end: number }[] = [];
  // A tag (U+E0020..U+E007E) is written with the high surrogate U+DB40: without it, none.
  if (!text.includes('\udb40')) return runs;
  let current: { text: string; start: number; end: number } | undefined;
  let i = 0;
  for (const cp of text) {
    const ascii = tagToAscii(cp);
    if (ascii !== undefined) {
      if (current && current.end === i) {
        current.text += ascii;
        current.end = i + cp.length;
      } else {
        current = { text: ascii, start: i, end: i + cp.length };
        runs.push(current);
      }
    }
    i += cp.length;
  }
  return runs;
}
