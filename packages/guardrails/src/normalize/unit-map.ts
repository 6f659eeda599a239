import { isInvisible } from './invisible';
import { fold, mapSpecialWords } from './skeleton';

const MARK = /^\p{M}$/u;

/** NFKC of the clusters met so far (a pure function, so a bounded memo is exact). */
const NFKC = new Map<string, string>();
const NFKC_MEMO_MAX = 8192;

/** `cluster.normalize('NFKC')`, memoized for clusters of one or two units. */
export function nfkcOf(cluster: string): string {
  if (cluster.length > 2) return cluster.normalize('NFKC');
  const known = NFKC.get(cluster);
  if (known !== undefined) return known;
  const out = cluster.normalize('NFKC');
  if (NFKC.size < NFKC_MEMO_MAX) NFKC.set(cluster, out);
  return out;
}

/** True when `cp` (one code point) is a combining mark. */
export function isMark(cp: string): boolean {
  return cp.charCodeAt(0) >= 0x300 && MARK.test(cp);
}

/**
 * Per BMP code unit, whether cleaning and folding each map it to one unit in place: 0 not yet
 * asked, 1 yes, 2 no. Yes means: not a surrogate, not invisible, not a combining mark, its NFKC
 * one unit (kept in `CLEAN_UNIT`), and the fold of that one unit (kept in `FOLDED_UNIT`).
 */
const STABLE = new Uint8Array(0x10000);
const CLEAN_UNIT = new Uint16Array(0x10000);
const FOLDED_UNIT = new Uint16Array(0x10000);

function stable(c: number): boolean {
  let known = STABLE[c]!;
  if (known === 0) {
    known = 2;
    if (c < 0xd800 || c > 0xdfff) {
      const ch = String.fromCharCode(c);
      const clean = isInvisible(ch) || isMark(ch) ? '' : nfkcOf(ch);
      const folded = clean.length === 1 ? fold(clean) : '';
      if (folded.length === 1) {
        CLEAN_UNIT[c] = clean.charCodeAt(0);
        FOLDED_UNIT[c] = folded.charCodeAt(0);
        known = 1;
      }
    }
    STABLE[c] = known;
  }
  return known === 1;
}

/**
 * Astral code points (surrogate pairs) that cleaning and folding leave as they are: not
 * invisible, not a combining mark, their own NFKC and their own fold. Memoized (a pure function).
 */
const ASTRAL_STABLE = new Map<number, boolean>();

function astralStable(cp: number): boolean {
  let known = ASTRAL_STABLE.get(cp);
  if (known === undefined) {
    const ch = String.fromCodePoint(cp);
    known = !isInvisible(ch) && !isMark(ch) && nfkcOf(ch) === ch && fold(ch) === ch;
    if (ASTRAL_STABLE.size < 8192) ASTRAL_STABLE.set(cp, known);
  }
  return known;
}

let cleanCodes = new Uint16Array(256);
let foldedCodes = new Uint16Array(256);

/** The string of `codes[0..n)`. */
function fromUnits(codes: Uint16Array, n: number): string {
  let out = '';
  for (let i = 0; i < n; i += 4096) {
    out += String.fromCharCode.apply(null, codes.subarray(i, Math.min(n, i + 4096)) as unknown as number[]);
  }
  return out;
}

/** A text that normalization maps unit for unit (see `unitMapped`). */
export interface UnitMapped {
  /** The cleaned text (`clean(text).text`), as long as the original. */
  readonly text: string;
  /** Its skeleton (`skeletonOf(clean(text)).text`), as long as the original. */
  readonly skeleton: string;
  /** Whether the text holds surrogate pairs (each pair maps to its own two units as a whole). */
  readonly astral: boolean;
}

/**
 * Cleaning and skeleton of `text` when normalization maps it unit for unit, else undefined.
 * That holds when every code point is printable ASCII, a tab or a line break, a BMP character
 * that is not invisible nor a combining mark and whose NFKC and then fold are one unit (most text
 * of any script: CJK, Cyrillic, accented Latin, full-width forms), or an astral character
 * (emoji...) that NFKC and folding keep as it is. Cleaning is then one unit for one unit and so
 * is folding; the skeleton reads the words that mix scripts or leetspeak as `mapWord` does, one
 * unit for one (`mapSpecialWords`). `fast-paths.test.ts` pins the result to the general definition.
 */
export function unitMapped(text: string): UnitMapped | undefined {
  const n = text.length;
  // Printable ASCII (with tabs and line breaks) throughout: cleaning keeps it and folding is
  // lowercasing, so both are read off the string without the unit arrays. No ASCII character is
  // a look-alike of another script, so only a word with a leetspeak character ([0-9@$!|]) can
  // read differently in the skeleton: without one, the skeleton is the lowercased text.
  let upper = false;
  let leet = false;
  let ascii = 0;
  for (; ascii < n; ascii++) {
    const c = text.charCodeAt(ascii);
    if (c >= 0x7f || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) break;
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if ((c >= 0x30 && c <= 0x39) || c === 0x40 || c === 0x24 || c === 0x21 || c === 0x7c) leet = true;
  }
  if (ascii === n) {
    const folded = upper ? text.toLowerCase() : text;
    return { text, skeleton: leet ? mapSpecialWords(folded) : folded, astral: false };
  }
  if (cleanCodes.length < n) {
    cleanCodes = new Uint16Array(Math.max(n, cleanCodes.length * 2));
    foldedCodes = new Uint16Array(cleanCodes.length);
  }
  const cleanOut = cleanCodes;
  const foldOut = foldedCodes;
  let cleaned = false;
  let folded = false;
  let astral = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c < 0x20 ? c !== 0x09 && c !== 0x0a && c !== 0x0d : c === 0x7f) return undefined;
      cleanOut[i] = c;
      if (c >= 0x41 && c <= 0x5a) {
        foldOut[i] = c + 32;
        folded = true;
      } else foldOut[i] = c;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const low = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (low < 0xdc00 || low > 0xdfff) return undefined;
      if (!astralStable(((c - 0xd800) << 10) + (low - 0xdc00) + 0x10000)) return undefined;
      cleanOut[i] = foldOut[i] = c;
      cleanOut[i + 1] = foldOut[i + 1] = low;
      astral = true;
      i++;
    } else {
      if (!stable(c)) return undefined;
      const clean = CLEAN_UNIT[c]!;
      const f = FOLDED_UNIT[c]!;
      cleanOut[i] = clean;
      foldOut[i] = f;
      if (clean !== c) cleaned = true;
      if (f !== c) folded = true;
    }
  }
  const cleanText = cleaned ? fromUnits(cleanOut, n) : text;
  const foldedText = folded ? fromUnits(foldOut, n) : text;
  return { text: cleanText, skeleton: mapSpecialWords(foldedText), astral };
}
