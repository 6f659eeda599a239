import { type MappedText, MappedTextBuilder, mapCodePoints } from './mapped-text';

/**
 * Letters of other scripts that look like Latin ones (a subset of Unicode's confusables.txt,
 * lowercase, for the scripts seen in homoglyph attacks: Cyrillic, Greek, Armenian, IPA, small caps).
 */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  ԁ: 'd',
  ӏ: 'l',
  ԛ: 'q',
  ԝ: 'w',
  ь: 'b',
  ʏ: 'y',
  // Greek
  α: 'a',
  β: 'b',
  γ: 'y',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ϲ: 'c',
  ϳ: 'j',
  // Armenian
  օ: 'o',
  ս: 'u',
  ց: 'g',
  հ: 'h',
  ո: 'n',
  // Latin look-alikes (IPA, dotless, small capitals)
  ı: 'i',
  ȷ: 'j',
  ɑ: 'a',
  ɡ: 'g',
  ɩ: 'i',
  ɪ: 'i',
  ʟ: 'l',
  ᴀ: 'a',
  ʙ: 'b',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ɢ: 'g',
  ʜ: 'h',
  ᴊ: 'j',
  ᴋ: 'k',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ʀ: 'r',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ᴢ: 'z',
};

/** Digits and symbols read as letters in leetspeak. */
const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '9': 'g',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
};

const WORD = /[\p{L}\p{M}\p{N}@$!|]+/gu;
const LATIN = /[a-z]/;
const LETTER = /\p{L}/u;
const LEET_CHAR = /[0-9@$!|]/;
const PLAIN_WORD = /^[a-z]+$/;

/**
 * Combining marks removed by folding: every nonspacing mark but the kana voicing marks (which make
 * different letters, not accented ones). Recomposed afterwards, so a Hangul syllable stays one
 * syllable rather than its decomposed jamo.
 */
const DIACRITIC = /(?![\u3099\u309a])\p{Mn}/gu;

/** Folds of the non-ASCII code points met so far (a pure function, so a bounded memo is exact). */
const FOLDED = new Map<string, string>();
const FOLD_MEMO_MAX = 8192;

/** Lowercase and without diacritics (see `DIACRITIC`), one code point at a time. */
export function fold(cp: string): string {
  const code = cp.charCodeAt(0);
  if (code < 0x80) return code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 32) : cp;
  const known = FOLDED.get(cp);
  if (known !== undefined) return known;
  const folded = cp.toLowerCase().normalize('NFD').replace(DIACRITIC, '').normalize('NFC');
  if (FOLDED.size < FOLD_MEMO_MAX) FOLDED.set(cp, folded);
  return folded;
}

const ASCII_RUN = /[\u0000-\u007f]+/g;

/**
 * `fold` of every code point of `src`. Runs of ASCII are lowercased at once (for ASCII the whole
 * run's lowercase is the lowercase of each character, unit for unit); the rest one code point at
 * a time, as lowercasing a whole string is context-sensitive (a final sigma) and can change lengths.
 */
function foldText(src: MappedText): MappedText {
  const text = src.text;
  const out = new MappedTextBuilder(text.length);
  let last = 0;
  const rest = (to: number) => {
    if (to <= last) return;
    const part = mapCodePoints(
      { text: text.slice(last, to), starts: sub(src.starts, last, to), ends: sub(src.ends, last, to) },
      fold,
    );
    out.pushSpan(part, 0, part.text.length);
  };
  for (const m of text.matchAll(ASCII_RUN)) {
    rest(m.index);
    out.pushSpanAs(m[0].toLowerCase(), src, m.index);
    last = m.index + m[0].length;
  }
  rest(text.length);
  return out.build();
}

function sub(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  return a instanceof Int32Array ? a.subarray(from, to) : Array.prototype.slice.call(a, from, to);
}

/** Is `word` (already folded) a leetspeak spelling: letters mixed with digits or symbols inside it? */
function isLeet(word: string): boolean {
  if (!LEET_CHAR.test(word) || !LETTER.test(word)) return false;
  // "gpt4", "mp3", "covid19": letters followed only by a trailing number are not leetspeak.
  if (/^\p{L}+\d+$/u.test(word) || /^\d+(?:st|nd|rd|th|s|k|m|b|x|d|h|am|pm|kb|mb|gb|px|ms)$/u.test(word)) return false;
  const inner = word.replace(/^[!|]+|[!|]+$/g, '');
  return LEET_CHAR.test(inner) && LETTER.test(inner);
}

/** The reading of one word: look-alikes mapped to Latin in a word that mixes scripts, then leetspeak read as letters. */
export function mapWord(word: string): string[] {
  const cps = Array.from(word);
  const mixedScript = LATIN.test(word) && cps.some((c) => CONFUSABLES[c] !== undefined);
  let out = mixedScript ? cps.map((c) => CONFUSABLES[c] ?? c) : cps;
  if (isLeet(out.join(''))) {
    const trimmed = out.join('').match(/^([!|]*)(.*?)([!|]*)$/su)!;
    const lead = Array.from(trimmed[1]!).length;
    const tail = Array.from(trimmed[3]!).length;
    out = out.map((c, i) => (i >= lead && i < out.length - tail ? (LEET[c] ?? c) : c));
  }
  return out;
}

/**
 * The matching skeleton of a text: lowercase, diacritics removed, look-alike letters of other
 * scripts mapped to Latin inside words that mix scripts, and leetspeak read as letters inside
 * words that mix letters and digits. Offsets stay mapped to the original.
 * @example skeletonOf(identityMapped('Іgn0re')).text // 'ignore'
 */
export function skeletonOf(src: MappedText): MappedText {
  const folded = foldText(src);
  const out = new MappedTextBuilder(folded.text.length);
  const text = folded.text;
  let last = 0;
  for (const m of text.matchAll(WORD)) {
    const at = m.index;
    out.pushSpan(folded, last, at);
    last = at + m[0].length;
    // Plain ASCII letters are neither confusables nor leetspeak: the word maps to itself.
    if (PLAIN_WORD.test(m[0])) {
      out.pushSpan(folded, at, last);
      continue;
    }
    const mapped = mapWord(m[0]);
    let i = at;
    for (const [k, cp] of Array.from(m[0]).entries()) {
      out.push(mapped[k]!, folded.starts[i]!, folded.ends[i + cp.length - 1]!);
      i += cp.length;
    }
  }
  out.pushSpan(folded, last, text.length);
  return out.build();
}

/** Classes of a folded code point, for the word scan (bits; 0 while not yet asked). */
const KNOWN = 1;
/** In `WORD` (`[\p{L}\p{M}\p{N}@$!|]`), the skeleton's word characters. */
const WORD_UNIT = 2;
/** `\p{L}`. */
const LETTER_UNIT = 4;
/** A leetspeak character, `[0-9@$!|]`. */
const LEET_UNIT = 8;
/** A look-alike letter of another script (a key of `CONFUSABLES`). */
const CONFUSABLE_UNIT = 16;
/** `[a-z]`. */
const LATIN_UNIT = 32;
const CLASS = new Uint8Array(0x10000);
/** Classes of the astral code points met so far (a pure function, so a bounded memo is exact). */
const ASTRAL_CLASS = new Map<number, number>();
const WORD_CHAR = /^[\p{L}\p{M}\p{N}@$!|]$/u;

function classify(cp: string): number {
  let k = KNOWN;
  if (WORD_CHAR.test(cp)) k |= WORD_UNIT;
  if (LETTER.test(cp)) k |= LETTER_UNIT;
  if (LEET_CHAR.test(cp)) k |= LEET_UNIT;
  if (CONFUSABLES[cp] !== undefined) k |= CONFUSABLE_UNIT;
  if (LATIN.test(cp)) k |= LATIN_UNIT;
  return k;
}

function classOf(c: number): number {
  let k = CLASS[c]!;
  if (k === 0) CLASS[c] = k = classify(String.fromCharCode(c));
  return k;
}

function astralClassOf(cp: number): number {
  let k = ASTRAL_CLASS.get(cp);
  if (k === undefined) {
    k = classify(String.fromCodePoint(cp));
    if (ASTRAL_CLASS.size < 8192) ASTRAL_CLASS.set(cp, k);
  }
  return k;
}

/**
 * The skeleton of a folded text that folding and look-alikes map one unit for one (every
 * look-alike and leetspeak reading is one unit): `folded` with each word (a run of `WORD`, by code
 * point) that `mapWord` changes replaced by its reading. `mapWord` changes only a word that mixes
 * Latin letters with look-alikes or letters with leetspeak characters; every other word is kept
 * as it is, without a call. Equal to `skeletonOf(identityMapped(folded)).text` on such text.
 */
export function mapSpecialWords(folded: string): string {
  const n = folded.length;
  let out = '';
  let last = 0;
  let start = -1;
  let seen = 0;
  for (let i = 0; i <= n; ) {
    let k = 0;
    let width = 1;
    if (i < n) {
      const c = folded.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const low = folded.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          k = astralClassOf(((c - 0xd800) << 10) + (low - 0xdc00) + 0x10000);
          width = 2;
        } else k = classOf(c);
      } else k = classOf(c);
    }
    if ((k & WORD_UNIT) !== 0) {
      if (start < 0) {
        start = i;
        seen = 0;
      }
      seen |= k;
      i += width;
      continue;
    }
    if (start >= 0) {
      const leet = (seen & LEET_UNIT) !== 0 && (seen & LETTER_UNIT) !== 0;
      const mixed = (seen & CONFUSABLE_UNIT) !== 0 && (seen & LATIN_UNIT) !== 0;
      if (leet || mixed) {
        out += folded.slice(last, start) + mapWord(folded.slice(start, i)).join('');
        last = i;
      }
      start = -1;
    }
    i += width;
  }
  return last === 0 ? folded : out + folded.slice(last);
}

/**
 * `skeletonOf(identityMapped(text)).text` for printable ASCII `text`, whose skeleton maps unit for
 * unit onto it: folding is lowercasing, no letter is a confusable, and leetspeak maps one
 * character to one. Words without a digit or symbol are left as they are.
 * @example asciiSkeleton('1GN0RE all') // 'ignore all'
 */
export function asciiSkeleton(text: string): string {
  return mapSpecialWords(text.toLowerCase());
}
