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
function fold(cp: string): string {
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

function mapWord(word: string): string[] {
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

const ASCII_WORD = /[a-z0-9@$!|]+/g;
const LEET_ANY = /[0-9@$!|]/;

/**
 * `skeletonOf(identityMapped(text)).text` for printable ASCII `text`, whose skeleton maps unit for
 * unit onto it: folding is lowercasing, no letter is a confusable, and leetspeak maps one
 * character to one. Words without a digit or symbol are left as they are.
 * @example asciiSkeleton('1GN0RE all') // 'ignore all'
 */
export function asciiSkeleton(text: string): string {
  const lower = text.toLowerCase();
  if (!LEET_ANY.test(lower)) return lower;
  return lower.replace(ASCII_WORD, (word) => (PLAIN_WORD.test(word) ? word : mapWord(word).join('')));
}
