import { type Candidate, type VariantKind, findCandidates } from './decoders';
import { decodeTagRuns, isInvisible } from './invisible';
import { type MappedText, MappedTextBuilder, identityMapped, mapCodePoints, originalRange } from './mapped-text';
import { skeletonOf } from './skeleton';
import { isMark, nfkcOf, unitMapped } from './unit-map';

/** A payload decoded from the text (or hidden in it) that every check scans again. */
export interface DecodedVariant {
  /** How it was hidden, outermost first when nested (`base64>rot13`). */
  readonly kind: string;
  /** The decoded payload, normalized as `NormalizedText.text` is. */
  readonly text: string;
  /** Its matching skeleton (see `NormalizedText.skeleton`). */
  readonly skeleton: string;
  /** The range of the original text it was decoded from. */
  readonly start: number;
  readonly end: number;
}

/** A text prepared for checks, with a way back to the offsets of the original. */
export interface NormalizedText {
  readonly original: string;
  /** NFKC, with zero-width, bidi-control, Unicode-tag and variation-selector characters removed. */
  readonly text: string;
  /** `text` lowercased, without diacritics, homoglyphs mapped to Latin and leetspeak read as letters. */
  readonly skeleton: string;
  /** Hidden or encoded payloads, decoded, to be rescanned. */
  readonly variants: readonly DecodedVariant[];
  /** The range of the original text that `[start, end)` of `text` comes from. */
  textToOriginal(start: number, end: number): { start: number; end: number };
  /** The range of the original text that `[start, end)` of `skeleton` comes from. */
  skeletonToOriginal(start: number, end: number): { start: number; end: number };
}

const MAX_DEPTH = 2;
const MAX_VARIANTS = 32;

/**
 * NFKC of each base character with its combining marks (a leading run of marks is a cluster of
 * its own), keeping original ranges. ASCII without marks is its own NFKC and is copied as is.
 */
function nfkc(src: MappedText): MappedText {
  const text = src.text;
  const out = new MappedTextBuilder(text.length);
  let i = 0;
  while (i < text.length) {
    const code = text.codePointAt(i)!;
    let j = i + (code > 0xffff ? 2 : 1);
    while (j < text.length) {
      const next = text.codePointAt(j)!;
      const width = next > 0xffff ? 2 : 1;
      if (next < 0x300 || !isMark(text.slice(j, j + width))) break;
      j += width;
    }
    if (code < 0x80 && j === i + 1) out.pushSpan(src, i, j);
    else {
      const range = originalRange(src, i, j);
      out.push(nfkcOf(text.slice(i, j)), range.start, range.end);
    }
    i = j;
  }
  return out.build();
}

/** `original` without its invisible characters, printable ASCII runs skipped over at once. */
function stripInvisible(original: string): MappedText {
  const identity = identityMapped(original);
  const out = new MappedTextBuilder(original.length);
  let last = 0;
  for (const m of original.matchAll(NOT_PRINTABLE_ASCII)) {
    out.pushSpan(identity, last, m.index);
    const part = mapCodePoints(
      { text: m[0], starts: identity.starts.subarray(m.index), ends: identity.ends.subarray(m.index) },
      (cp) => (isInvisible(cp) ? '' : cp),
    );
    out.pushSpan(part, 0, part.text.length);
    last = m.index + m[0].length;
  }
  out.pushSpan(identity, last, original.length);
  return out.build();
}

const NOT_PRINTABLE_ASCII = /[^\u0020-\u007e\t\n\r]+/g;

function clean(original: string): MappedText {
  return nfkc(stripInvisible(original));
}

/** A text cleaned and skeletonized, with its maps back to the text it came from. */
interface Prepared {
  readonly text: string;
  readonly skeleton: string;
  textToOriginal(start: number, end: number): { start: number; end: number };
  skeletonToOriginal(start: number, end: number): { start: number; end: number };
}

/**
 * `clean` and `skeletonOf` of `text`. When normalization maps the text unit for unit (printable
 * ASCII, and most text of any script: see `unitMapped`), both maps are the identity (a surrogate
 * pair maps to itself as a whole), and the cleaned text and skeleton are read off the string
 * without mapped arrays. `preparePlain` is the general definition.
 */
function prepare(text: string): Prepared {
  const unit = unitMapped(text);
  if (unit === undefined) return preparePlain(text);
  const range = unit.astral ? pairRange(text) : identityRange(text.length);
  return { text: unit.text, skeleton: unit.skeleton, textToOriginal: range, skeletonToOriginal: range };
}

/** `prepare` without its unit-for-unit shortcut. */
function preparePlain(text: string): Prepared {
  const cleaned = clean(text);
  const skeleton = skeletonOf(cleaned);
  return {
    text: cleaned.text,
    skeleton: skeleton.text,
    textToOriginal: (start, end) => originalRange(cleaned, start, end),
    skeletonToOriginal: (start, end) => originalRange(skeleton, start, end),
  };
}

/** `originalRange` of the identity map of a text of `length` units. */
function identityRange(length: number): (start: number, end: number) => { start: number; end: number } {
  return (start, end) => {
    if (length === 0) return { start: 0, end: 0 };
    const s = Math.max(0, Math.min(start, length - 1));
    if (end <= start) return { start: s, end: s };
    return { start: s, end: Math.max(s, Math.min(end, length) - 1) + 1 };
  };
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * `originalRange` of the map of a text onto itself where each unit comes from itself, except that
 * both units of a surrogate pair come from the whole pair (as cleaning maps a code point).
 * Starts and ends grow with the index, so a range's bounds are those of its first and last units.
 */
function pairRange(text: string): (start: number, end: number) => { start: number; end: number } {
  const length = text.length;
  const startOf = (i: number) => (i > 0 && isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1)) ? i - 1 : i);
  const endOf = (i: number) =>
    i + 1 < length && isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1)) ? i + 2 : i + 1;
  return (start, end) => {
    if (length === 0) return { start: 0, end: 0 };
    const s = Math.max(0, Math.min(start, length - 1));
    if (end <= start) return { start: startOf(s), end: startOf(s) };
    return { start: startOf(s), end: endOf(Math.max(s, Math.min(end, length) - 1)) };
  };
}

function collect(
  original: string,
  cleaned: Prepared,
  depth: number,
  into: DecodedVariant[],
  plain: boolean,
  outer?: { kind: string; start: number; end: number },
) {
  const found: Candidate[] = [];
  for (const run of decodeTagRuns(original)) {
    found.push({ kind: 'unicode-tags' satisfies VariantKind, decoded: run.text, start: run.start, end: run.end });
  }
  for (const c of findCandidates(cleaned.text)) {
    const r = cleaned.textToOriginal(c.start, c.end);
    found.push({ ...c, start: r.start, end: r.end });
  }
  for (const c of found) {
    if (into.length >= MAX_VARIANTS) return;
    const inner = plain ? preparePlain(c.decoded) : prepare(c.decoded);
    const kind = outer ? `${outer.kind}>${c.kind}` : c.kind;
    const start = outer ? outer.start : c.start;
    const end = outer ? outer.end : c.end;
    into.push({ kind, text: inner.text, skeleton: inner.skeleton, start, end });
    if (depth + 1 < MAX_DEPTH && c.kind !== 'rot13')
      collect(c.decoded, inner, depth + 1, into, plain, { kind, start, end });
  }
}

/**
 * Prepares a text for every check: NFKC; zero-width, bidi-control, Unicode-tag and
 * variation-selector characters stripped (newlines and tabs kept); a matching skeleton
 * (homoglyphs, leetspeak, case, diacritics); and the hidden payloads decoded for a rescan
 * (ASCII smuggled in Unicode tags, base64, hex, URL encoding, HTML entities, ROT13, spaced letters).
 *
 * @param text The text as received.
 * @example
 * const n = normalize('ig\u200Bnore аll previous instructions');
 * n.skeleton // 'ignore all previous instructions'
 */
export function normalize(text: string): NormalizedText {
  return normalizeWith(text, false);
}

/** `normalize` without the printable-ASCII shortcut: the plain definition, for tests. */
export function normalizePlain(text: string): NormalizedText {
  return normalizeWith(text, true);
}

function normalizeWith(text: string, plain: boolean): NormalizedText {
  const prepared = plain ? preparePlain(text) : prepare(text);
  const variants: DecodedVariant[] = [];
  collect(text, prepared, 0, variants, plain);
  return {
    original: text,
    text: prepared.text,
    skeleton: prepared.skeleton,
    variants,
    textToOriginal: prepared.textToOriginal,
    skeletonToOriginal: prepared.skeletonToOriginal,
  };
}
