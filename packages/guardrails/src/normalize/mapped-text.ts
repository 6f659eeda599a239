/**
 * A string whose every UTF-16 unit remembers the range of the original text it came from, so a
 * match found after normalization can be reported (and removed) at its place in the original.
 */
export interface MappedText {
  readonly text: string;
  /** `starts[i]`: original offset where the unit `text[i]` comes from (inclusive). */
  readonly starts: readonly number[];
  /** `ends[i]`: original offset where the unit `text[i]` comes from (exclusive). */
  readonly ends: readonly number[];
}

/** Builds a `MappedText` piece by piece. */
export class MappedTextBuilder {
  #text = '';
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];

  /** Appends `piece`, every unit of which comes from the original range `[start, end)`. */
  push(piece: string, start: number, end: number): void {
    this.#text += piece;
    for (let i = 0; i < piece.length; i++) {
      this.#starts.push(start);
      this.#ends.push(end);
    }
  }

  build(): MappedText {
    return { text: this.#text, starts: this.#starts, ends: this.#ends };
  }
}

/** The identity mapping of `text` onto itself. */
export function identityMapped(text: string): MappedText {
  const starts = Array.from({ length: text.length }, (_, i) => i);
  return { text, starts, ends: starts.map((i) => i + 1) };
}

/**
 * The original range covered by `[start, end)` of a mapped text; an empty range maps to the
 * original position of its start.
 */
export function originalRange(mapped: MappedText, start: number, end: number): { start: number; end: number } {
  const n = mapped.text.length;
  if (n === 0) return { start: 0, end: 0 };
  const s = Math.max(0, Math.min(start, n - 1));
  const e = Math.max(s, Math.min(end, n) - 1);
  if (end <= start) return { start: mapped.starts[s]!, end: mapped.starts[s]! };
  let lo = mapped.starts[s]!;
  let hi = mapped.ends[e]!;
  for (let i = s; i <= e; i++) {
    lo = Math.min(lo, mapped.starts[i]!);
    hi = Math.max(hi, mapped.ends[i]!);
  }
  return { start: lo, end: hi };
}

/**
 * Maps each code point of `src` through `fn` (which may return '' to drop it or several units),
 * keeping the original ranges.
 */
export function mapCodePoints(src: MappedText, fn: (cp: string, index: number) => string): MappedText {
  const out = new MappedTextBuilder();
  let i = 0;
  for (const cp of src.text) {
    const piece = fn(cp, i);
    if (piece) out.push(piece, src.starts[i]!, src.ends[i + cp.length - 1]!);
    i += cp.length;
  }
  return out.build();
}
