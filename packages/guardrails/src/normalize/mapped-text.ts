/**
 * A string whose every UTF-16 unit remembers the range of the original text it came from, so a
 * match found after normalization can be reported (and removed) at its place in the original.
 */
export interface MappedText {
  readonly text: string;
  /** `starts[i]`: original offset where the unit `text[i]` comes from (inclusive). */
  readonly starts: ArrayLike<number>;
  /** `ends[i]`: original offset where the unit `text[i]` comes from (exclusive). */
  readonly ends: ArrayLike<number>;
}

/**
 * Builds a `MappedText` piece by piece, in typed arrays that grow by doubling, so building one is
 * linear in its length (a 60 KB text is a few hundred thousand small writes, not as many boxed
 * array pushes).
 */
export class MappedTextBuilder {
  #text = '';
  #starts: Int32Array;
  #ends: Int32Array;
  #length = 0;
  /** Units of one source appended by consecutive `pushSpan` calls, joined to the text at once. */
  #run: { src: MappedText; from: number; to: number } | undefined;

  /** @param capacity the expected length in UTF-16 units (a hint; the builder grows as needed). */
  constructor(capacity = 16) {
    this.#starts = new Int32Array(Math.max(16, capacity));
    this.#ends = new Int32Array(Math.max(16, capacity));
  }

  #reserve(extra: number): void {
    const need = this.#length + extra;
    if (need <= this.#starts.length) return;
    let size = this.#starts.length * 2;
    while (size < need) size *= 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    starts.set(this.#starts.subarray(0, this.#length));
    ends.set(this.#ends.subarray(0, this.#length));
    this.#starts = starts;
    this.#ends = ends;
  }

  /** Appends `piece`, every unit of which comes from the original range `[start, end)`. */
  push(piece: string, start: number, end: number): void {
    const n = piece.length;
    if (n === 0) return;
    this.#reserve(n);
    this.#flushRun();
    this.#text += piece;
    for (let i = 0; i < n; i++) {
      this.#starts[this.#length] = start;
      this.#ends[this.#length] = end;
      this.#length++;
    }
  }

  /** Appends units `[from, to)` of `src` unchanged, each with its own original range. */
  pushSpan(src: MappedText, from: number, to: number): void {
    if (to <= from) return;
    this.#reserve(to - from);
    const run = this.#run;
    if (run && run.src === src && run.to === from) run.to = to;
    else {
      this.#flushRun();
      this.#run = { src, from, to };
    }
    for (let i = from; i < to; i++) {
      this.#starts[this.#length] = src.starts[i]!;
      this.#ends[this.#length] = src.ends[i]!;
      this.#length++;
    }
  }

  #flushRun(): void {
    if (!this.#run) return;
    this.#text += this.#run.src.text.slice(this.#run.from, this.#run.to);
    this.#run = undefined;
  }

  /** Appends `piece`, whose unit `k` comes from where unit `from + k` of `src` does (same length). */
  pushSpanAs(piece: string, src: MappedText, from: number): void {
    const n = piece.length;
    if (n === 0) return;
    this.#reserve(n);
    this.#flushRun();
    this.#text += piece;
    for (let i = from; i < from + n; i++) {
      this.#starts[this.#length] = src.starts[i]!;
      this.#ends[this.#length] = src.ends[i]!;
      this.#length++;
    }
  }

  build(): MappedText {
    this.#flushRun();
    return {
      text: this.#text,
      starts: this.#starts.subarray(0, this.#length),
      ends: this.#ends.subarray(0, this.#length),
    };
  }
}

/** The identity mapping of `text` onto itself. */
export function identityMapped(text: string): MappedText & { starts: Int32Array; ends: Int32Array } {
  const starts = new Int32Array(text.length);
  const ends = new Int32Array(text.length);
  for (let i = 0; i < text.length; i++) {
    starts[i] = i;
    ends[i] = i + 1;
  }
  return { text, starts, ends };
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
 * keeping the original ranges. `fn` receives the code point and its UTF-16 index in `src.text`.
 */
export function mapCodePoints(src: MappedText, fn: (cp: string, index: number) => string): MappedText {
  const text = src.text;
  const out = new MappedTextBuilder(text.length);
  for (let i = 0; i < text.length; ) {
    const code = text.codePointAt(i)!;
    const width = code > 0xffff ? 2 : 1;
    const cp = width === 1 ? text[i]! : text.slice(i, i + 2);
    const piece = fn(cp, i);
    if (width === 1 && piece === cp) out.pushSpan(src, i, i + 1);
    else if (piece) out.push(piece, src.starts[i]!, src.ends[i + width - 1]!);
    i += width;
  }
  return out.build();
}
