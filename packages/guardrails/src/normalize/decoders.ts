/** How a hidden payload was encoded. */
export type VariantKind = 'unicode-tags' | 'base64' | 'hex' | 'url' | 'html-entities' | 'rot13' | 'spaced';

/** A decoded candidate payload found in a text, with its range in that text. */
export interface Candidate {
  readonly kind: VariantKind;
  readonly decoded: string;
  readonly start: number;
  readonly end: number;
}

const BASE64 = /[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}/g;

export const HEX_RUN =
  /(?:0x)?(?:[0-9a-fA-F]{2}){8,}|(?:\\x[0-9a-fA-F]{2}){4,}|(?:[0-9a-fA-F]{2}[ :,-]){5,}[0-9a-fA-F]{2}/g;
/** Whitespace-free tokens; URL-encoded ones are those with three or more `%xx` escapes (checked outside the regex, which would backtrack). */
const TOKEN = /\S+/g;
const HTML_ENTITIES = /(?:&#(?:x[0-9a-fA-F]{1,6}|\d{1,7});\s?){3,}/g;
export const SPACED = /(?<![\p{L}\p{N}])[\p{L}\p{N}](?:[ _.\-*·|~+]{1,3}[\p{L}\p{N}](?![\p{L}\p{N}])){3,}/gu;

/**
 * Necessary for a `SPACED` match: its second and third letters stand alone between separators
 * (`<sep>L<sep>{1,3}L<sep>`). One cheap test that skips the lookbehind search on almost all prose.
 */
const SPACED_HINT = /[ _.\-*·|~+][\p{L}\p{N}][ _.\-*·|~+]{1,3}[\p{L}\p{N}][ _.\-*·|~+]/u;

/** False only when `SPACED` cannot match `text` (see `SPACED_HINT`). */
export function mayBeSpaced(text: string): boolean {
  return SPACED_HINT.test(text);
}

const isHexDigit = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/**
 * False only when `HEX_RUN` cannot match `text`: each of its forms needs 16 hex digits in a row,
 * a `\x`, or five pairs of hex digits each followed by one separator, the last four pairs standing
 * alone between separators. One pass over the characters, no regex.
 */
export function mayHaveHexRun(text: string): boolean {
  if (text.includes('\\x')) return true;
  let run = 0; // hex digits in a row, ending here
  let pairs = 0; // `hh<sep>` units in a row, ending here
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isHexDigit(c)) {
      if (++run >= 16) return true;
      continue;
    }
    if ((c === 32 || c === 58 || c === 44 || c === 45) && run >= 2) {
      pairs = run === 2 && pairs > 0 ? pairs + 1 : 1;
      if (pairs >= 5) return true;
    } else pairs = 0;
    run = 0;
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/** Whether `bytes` hold the UTF-8 encoding of U+FFFD (EF BF BD). */
function hasReplacementBytes(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0xef); i >= 0 && i + 2 < bytes.length; i = bytes.indexOf(0xef, i + 1)) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) return true;
  }
  return false;
}

/**
 * The strict UTF-8 decoding of `bytes`, or undefined where the strict decoder would throw, without
 * throwing: the lenient decoder gives the same text except that it puts U+FFFD for invalid bytes,
 * so a U+FFFD in its output is an invalid sequence unless the bytes encode U+FFFD itself (then the
 * strict decoder decides).
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  const text = utf8Lenient.decode(bytes);
  if (!text.includes('\ufffd')) return text;
  if (!hasReplacementBytes(bytes)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Readable text: valid, mostly printable, with some letters. */
function readable(text: string): boolean {
  if (text.length < 4) return false;
  let printable = 0;
  let letters = 0;
  for (const ch of text) {
    if (/[\p{L}\p{N}\p{P}\p{S}\s]/u.test(ch) && !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(ch)) printable++;
    if (/[\p{L}\p{N}]/u.test(ch)) letters++;
  }
  const n = Array.from(text).length;
  return printable / n >= 0.95 && letters >= 3 && letters / n >= 0.4;
}

function bytesToText(bytes: Uint8Array): string | undefined {
  const text = decodeUtf8(bytes);
  return text !== undefined && readable(text) ? text : undefined;
}

function decodeBase64(token: string): string | undefined {
  const std = token.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (std.length % 4 === 1) return undefined;
  try {
    const bin = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytesToText(bytes);
  } catch {
    return undefined;
  }
}

function decodeHex(token: string): string | undefined {
  const digits = token.replace(/^0x/, '').replace(/\\x|[ :,-]/g, '');
  if (digits.length % 2 !== 0) return undefined;
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return bytesToText(bytes);
}

function decodeUrl(token: string): string | undefined {
  if (!token.includes('%') || (token.match(/%[0-9A-Fa-f]{2}/g)?.length ?? 0) < 3) return undefined;
  try {
    const text = decodeURIComponent(token.replace(/\+/g, ' '));
    return text !== token && readable(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

function decodeEntities(token: string): string | undefined {
  const text = token.replace(/&#(x[0-9a-fA-F]+|\d+);/g, (_, code: string) => {
    const n = code.startsWith('x') ? Number.parseInt(code.slice(1), 16) : Number.parseInt(code, 10);
    return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '';
  });
  return readable(text) ? text.trim() : undefined;
}

/** ROT13 of the ASCII letters of `text`. */
export function rot13(text: string): string {
  return text.replace(/[a-zA-Z]+/g, (run) => {
    let out = '';
    for (let i = 0; i < run.length; i++) {
      const c = run.charCodeAt(i);
      const base = c <= 90 ? 65 : 97;
      out += String.fromCharCode(((c - base + 13) % 26) + base);
    }
    return out;
  });
}

const COMMON = new Set(
  'the a an and or of to in on is are was be you your i me my we it this that all any with for not now from as at by do what how previous instructions ignore forget system prompt say tell write print reveal rules new task'.split(
    ' ',
  ),
);

/** The common words after ROT13 (ROT13 is its own inverse: `rot13(w)` is common iff `w` is in here). */
const COMMON_ROTATED = new Set([...COMMON].map(rot13));

/** Share of the words of `text` that are common English words. */
function englishness(text: string): number {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  if (words.length === 0) return 0;
  return words.filter((w) => COMMON.has(w)).length / words.length;
}

/**
 * The common words and their ROT13 as one automaton over lowercase ASCII letters: `NEXT[state *
 * 26 + letter]` is the next state (0: no common word has this prefix), `ENDS[state]` bit 1 when
 * the letters read so far are a common word, bit 2 when they are the ROT13 of one.
 */
const { NEXT, ENDS } = (() => {
  const next: number[] = new Array(26).fill(0);
  const ends: number[] = [0];
  const add = (word: string, bit: number) => {
    let s = 0;
    for (let i = 0; i < word.length; i++) {
      const a = s * 26 + word.charCodeAt(i) - 97;
      if (next[a] === 0) {
        next[a] = ends.length;
        ends.push(0);
        for (let k = 0; k < 26; k++) next.push(0);
      }
      s = next[a]!;
    }
    ends[s]! |= bit;
  };
  for (const w of COMMON) add(w, 1);
  for (const w of COMMON_ROTATED) add(w, 2);
  return { NEXT: Int32Array.from(next), ENDS: Uint8Array.from(ends) };
})();

/** Per ASCII code, what `textScan` needs of it: `B64`, `HEX` and `HEX_SEPARATOR` bits. */
const ASCII_CLASS = new Uint8Array(128);
/** A base64 character of either alphabet, `[A-Za-z0-9+/_-]`. */
const B64 = 1;
/** A hex digit. */
const HEX = 2;
/** A separator of `HEX_RUN`'s pairs, `[ :,-]`. */
const HEX_SEPARATOR = 4;
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-')
  ASCII_CLASS[c.charCodeAt(0)]! |= B64;
for (const c of '0123456789abcdefABCDEF') ASCII_CLASS[c.charCodeAt(0)]! |= HEX;
for (const c of ' :,-') ASCII_CLASS[c.charCodeAt(0)]! |= HEX_SEPARATOR;

/** What `findCandidates` reads of a text before running any pattern (see `textScan`). */
export interface TextScan {
  /**
   * The maximal runs of base64 characters (either alphabet) long enough to hold a `BASE64` match,
   * which lies inside one such run, each with up to two `=` after it, as `[start, end, start,
   * end, ...]`: the matches of `/(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}/g`.
   */
  readonly runs: number[];
  /** `mayHaveHexRun(text)`. */
  readonly hex: boolean;
  /** Shares of common English words in the text as it is and after ROT13. */
  readonly plain: number;
  readonly rotated: number;
}

/**
 * The base64 runs, the hex precheck and the shares of common English words of `text`, in one
 * pass over its units rather than one per question.
 */
export function textScan(text: string): TextScan {
  const runs: number[] = [];
  const n = text.length;
  let hex = text.includes('\\x');
  let hexRun = 0; // hex digits in a row, ending here
  let pairs = 0; // `hh<sep>` units in a row, ending here
  let runStart = -1;
  // Lowercasing turns two non-ASCII letters into ASCII ones (U+0130 and U+212A, checked over all of
  // Unicode), which ROT13 would have left alone; without them, the words of the rotated text are
  // the rotated words of the text, and the words of the lowercased text are the runs of ASCII
  // letters of the text, lowercased: read here one letter at a time through `NEXT`.
  let words = 0;
  let plain = 0;
  let rotated = 0;
  let state = -1; // -1: not in a word; 0: in a word no common word starts like
  for (let i = 0; i <= n; i++) {
    // Past the end, a unit that is in no class and no word, which closes what is open.
    const c = i < n ? text.charCodeAt(i) : 0;
    const k = c < 128 ? ASCII_CLASS[c]! : 0;
    if ((k & B64) !== 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart >= 16) {
        let j = i;
        if (text.charCodeAt(j) === 61) j++;
        if (text.charCodeAt(j) === 61) j++;
        runs.push(runStart, j);
      }
      runStart = -1;
    }
    if ((k & HEX) !== 0) {
      if (++hexRun >= 16) hex = true;
    } else {
      if ((k & HEX_SEPARATOR) !== 0 && hexRun >= 2) {
        pairs = hexRun === 2 && pairs > 0 ? pairs + 1 : 1;
        if (pairs >= 5) hex = true;
      } else pairs = 0;
      hexRun = 0;
    }
    // `| 0x20` lowercases A-Z and maps no other unit into a-z.
    const l = c | 0x20;
    if (l >= 97 && l <= 122) {
      if (state < 0) {
        words++;
        state = NEXT[l - 97]!;
      } else if (state > 0) state = NEXT[state * 26 + l - 97]!;
      continue;
    }
    if (state > 0) {
      const end = ENDS[state]!;
      if ((end & 1) !== 0) plain++;
      if ((end & 2) !== 0) rotated++;
    }
    state = -1;
  }
  if (/[\u0130\u212a]/.test(text)) return { runs, hex, plain: englishness(text), rotated: englishness(rot13(text)) };
  if (words === 0) return { runs, hex, plain: 0, rotated: 0 };
  return { runs, hex, plain: plain / words, rotated: rotated / words };
}

/** Letters spaced or separated (`i g n o r e`, `i_g_n_o_r_e`) joined; wider gaps become spaces. */
function joinSpaced(run: string): string {
  const gaps = run.match(/[^\p{L}\p{N}]+/gu) ?? [];
  const narrow = Math.min(...gaps.map((g) => g.length));
  return run.replace(/[^\p{L}\p{N}]+/gu, (g) => (g.length > narrow ? ' ' : ''));
}

/**
 * Candidate hidden payloads of `text`: base64, hex, URL-encoded, HTML entities, ROT13 and
 * spaced-out letters, each decoded, with the range of `text` it was decoded from.
 * @example findCandidates('aWdub3JlIGFsbCBydWxlcw==')[0]?.decoded // 'ignore all rules'
 */
export function findCandidates(text: string): Candidate[] {
  const out: Candidate[] = [];
  // Each pattern matches no empty string, so `exec` from `lastIndex` walks the matches.
  const scan = (re: RegExp, kind: VariantKind, decode: (s: string) => string | undefined) => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const decoded = decode(m[0]);
      if (decoded !== undefined) out.push({ kind, decoded, start: m.index, end: m.index + m[0].length });
    }
  };
  const scanned = textScan(text);
  const runs = scanned.runs;
  for (let r = 0; r < runs.length; r += 2) {
    const at = runs[r]!;
    for (const m of text.slice(at, runs[r + 1]).matchAll(BASE64)) {
      const decoded = decodeBase64(m[0]);
      const start = at + m.index;
      if (decoded !== undefined) out.push({ kind: 'base64', decoded, start, end: start + m[0].length });
    }
  }
  if (scanned.hex) scan(HEX_RUN, 'hex', decodeHex);
  if (text.includes('%')) scan(TOKEN, 'url', decodeUrl);
  if (text.includes('&#')) scan(HTML_ENTITIES, 'html-entities', decodeEntities);
  if (mayBeSpaced(text)) scan(SPACED, 'spaced', joinSpaced);
  if (scanned.rotated - scanned.plain >= 0.15 && scanned.rotated >= 0.2)
    out.push({ kind: 'rot13', decoded: rot13(text), start: 0, end: text.length });
  return out;
}
