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

/** NFKC of each base character with its combining marks, keeping original ranges. */
function nfkc(src: MappedText): MappedText {
  const out = new MappedTextBuilder();
  for (const m of src.text.matchAll(/\P{M}\p{M}*|\p{M}+/gsu)) {
    const range = originalRange(src, m.index, m.index + m[0].length);
    out.push(m[0].normalize('NFKC'), range.start, range.end);
  }
  return out.build();
}

function clean(original: string): MappedText {
  return nfkc(mapCodePoints(identityMapped(original), (cp) => (isInvisible(cp) ? '' : cp)));
}

function collect(
  original: string,
  depth: number,
  into: DecodedVariant[],
  outer?: { kind: string; start: number; end: number },
) {
  const cleaned = clean(original);
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
    if (depth + 1 < MAX_DEPTH && c.kind !== 'rot13') collect(c.decoded, depth + 1, into, { kind, start, end });
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
  collect(text, 0, variants);
  return {
    original: text,
    text: cleaned.text,
    skeleton: skeleton.text,
    variants,
    textToOriginal: (start, end) => originalRange(cleaned, start, end),
    skeletonToOriginal: (start, end) => originalRange(skeleton, start, end),
  };
}
