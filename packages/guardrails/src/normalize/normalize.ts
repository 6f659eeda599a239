import { type Candidate, type VariantKind, findCandidates } from './decoders';
import { decodeTagRuns, isInvisible } from './invisible';
import { type MappedText, MappedTextBuilder, identityMapped, mapCodePoints, originalRange } from './mapped-text';
import { skeletonOf } from './skeleton';

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

const MARK = /^\p{M}$/u;

/** NFKC of the clusters met so far (a pure function, so a bounded memo is exact). */
const NFKC = new Map<string, string>();
const NFKC_MEMO_MAX = 8192;

function nfkcOf(cluster: string): string {
  if (cluster.length > 2) return cluster.normalize('NFKC');
  const known = NFKC.get(cluster);
  if (known !== undefined) return known;
  const out = cluster.normalize('NFKC');
  if (NFKC.size < NFKC_MEMO_MAX) NFKC.set(cluster, out);
  return out;
}

/** True when the code point at `i` of `text` (code `code`, `width` units) is a combining mark. */
function isMarkAt(text: string, i: number, code: number, width: number): boolean {
  return code >= 0x300 && MARK.test(text.slice(i, i + width));
}

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
      if (!isMarkAt(text, j, next, width)) break;
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

function collect(
  original: string,
  cleaned: MappedText,
  depth: number,
  into: DecodedVariant[],
  outer?: { kind: string; start: number; end: number },
) {
  const found: Candidate[] = [];
  for (const run of decodeTagRuns(original)) {
    found.push({ kind: 'unicode-tags' satisfies VariantKind, decoded: run.text, start: run.start, end: run.end });
  }
  for (const c of findCandidates(cleaned.text)) {
    const r = originalRange(cleaned, c.start, c.end);
    found.push({ ...c, start: r.start, end: r.end });
  }
  for (const c of found) {
    if (into.length >= MAX_VARIANTS) return;
    const inner = clean(c.decoded);
    const kind = outer ? `${outer.kind}>${c.kind}` : c.kind;
    const start = outer ? outer.start : c.start;
    const end = outer ? outer.end : c.end;
    into.push({ kind, text: inner.text, skeleton: skeletonOf(inner).text, start, end });
    if (depth + 1 < MAX_DEPTH && c.kind !== 'rot13') collect(c.decoded, inner, depth + 1, into, { kind, start, end });
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
  const cleaned = clean(text);
  const skeleton = skeletonOf(cleaned);
  const variants: DecodedVariant[] = [];
  collect(text, cleaned, 0, variants);
  return {
    original: text,
    text: cleaned.text,
    skeleton: skeleton.text,
    variants,
    textToOriginal: (start, end) => originalRange(cleaned, start, end),
    skeletonToOriginal: (start, end) => originalRange(skeleton, start, end),
  };
}
