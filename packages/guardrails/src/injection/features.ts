/** Settings of the hashed feature space; stored with the weights so both sides agree. */
export interface FeatureSpec {
  /** log2 of the number of hash buckets. */
  readonly bits: number;
  readonly minGram: number;
  readonly maxGram: number;
}

/** FNV-1a over UTF-16 units, with a seed, as a 32-bit unsigned integer. */
function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A sparse, L2-normalized feature vector: bucket indices and their values. */
export interface SparseVector {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/**
 * Hashed features of a skeleton text: character n-grams (within and across words) plus word
 * unigrams and bigrams, each present-or-not, the vector scaled to unit length.
 * @example featurize('ignore all rules', { bits: 16, minGram: 2, maxGram: 5 }).indices.length > 0
 */
export function featurize(skeleton: string, spec: FeatureSpec): SparseVector {
  const mask = (1 << spec.bits) - 1;
  const text = ` ${skeleton.replace(/[^\p{L}\p{N}]+/gu, ' ').trim()} `;
  const seen = bucketsFor(spec.bits);
  const codes = new Uint16Array(text.length);
  // Code point boundaries, so n-grams never split a surrogate pair; hashed in place, no substrings.
  const bounds = new Int32Array(text.length + 1);
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    codes[i] = c;
    if (c < 0xdc00 || c > 0xdfff) bounds[count++] = i;
  }
  bounds[count] = text.length;
  const bits = seen.bits;
  let min = bits.length;
  let max = -1;
  let total = 0;
  const add = (bucket: number): void => {
    const word = bucket >>> 5;
    const bit = 1 << (bucket & 31);
    const w = bits[word]!;
    if ((w & bit) !== 0) return;
    bits[word] = w | bit;
    total++;
    if (word < min) min = word;
    if (word > max) max = word;
  };
  for (let n = spec.minGram; n <= spec.maxGram; n++) {
    const seed = (0x811c9dc5 ^ n) >>> 0;
    for (let i = 0; i + n <= count; i++) {
      let h = seed;
      const to = bounds[i + n]!;
      for (let u = bounds[i]!; u < to; u++) h = Math.imul(h ^ codes[u]!, 0x01000193);
      add((h >>> 0) & mask);
    }
  }
  const words = text.trim().split(' ').filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    add(fnv1a(words[i]!, 101) & mask);
    if (i + 1 < words.length) add(fnv1a(`${words[i]} ${words[i + 1]}`, 102) & mask);
  }
  // The buckets in ascending order, read off the bitmap, which is left empty for the next text.
  const indices = new Int32Array(total);
  let k = 0;
  for (let word = min; word <= max; word++) {
    let w = bits[word]!;
    if (w === 0) continue;
    bits[word] = 0;
    while (w !== 0) {
      const low = w & -w;
      indices[k++] = (word << 5) | (31 - Math.clz32(low));
      w ^= low;
    }
  }
  const value = indices.length > 0 ? 1 / Math.sqrt(indices.length) : 0;
  return { indices, values: new Float32Array(indices.length).fill(value) };
}

/**
 * One bitmap of buckets per feature-space size, shared by every call: features are computed
 * synchronously, one text at a time, and each call leaves its bitmap empty. So no hash set is
 * built per text and the buckets come out sorted without a sort.
 */
const BITMAPS = new Map<number, { bits: Uint32Array }>();

function bucketsFor(bits: number): { bits: Uint32Array } {
  let set = BITMAPS.get(bits);
  if (!set) BITMAPS.set(bits, (set = { bits: new Uint32Array(Math.max(1, (1 << bits) >>> 5)) }));
  return set;
}

/**
 * The scratch space of `hashedLogit`, shared by every call (scoring is synchronous, one text at a
 * time, and each call leaves the bitmaps empty): the text's UTF-16 units and code point starts, a
 * bitmap of the buckets seen and, one level up, a bitmap of its non-empty words, so the buckets
 * are read in ascending order without a sort or a hash set, into `buckets`.
 */
interface Scratch {
  codes: Uint16Array;
  bounds: Int32Array;
  words: Int32Array;
  bits: Uint32Array;
  summary: Uint32Array;
  /** The distinct buckets of the text at hand, ascending. */
  buckets: Int32Array;
}

const SCRATCH = new Map<number, Scratch>();

function scratchFor(bits: number, length: number): Scratch {
  let s = SCRATCH.get(bits);
  if (!s) {
    const words = Math.max(1, (1 << bits) >>> 5);
    s = {
      codes: new Uint16Array(256),
      bounds: new Int32Array(257),
      words: new Int32Array(256),
      bits: new Uint32Array(words),
      summary: new Uint32Array(Math.max(1, (words + 31) >>> 5)),
      buckets: new Int32Array(1024),
    };
    SCRATCH.set(bits, s);
  }
  if (s.codes.length < length) {
    let size = s.codes.length;
    while (size < length) size *= 2;
    s.codes = new Uint16Array(size);
    s.bounds = new Int32Array(size + 1);
    s.words = new Int32Array(size);
  }
  return s;
}

/** Marks `bucket` in `bits` and its word of `bits` in `summary` (a bucket marked twice stays one bit). */
function mark(bits: Uint32Array, summary: Uint32Array, bucket: number): void {
  const word = bucket >>> 5;
  bits[word]! |= 1 << (bucket & 31);
  summary[word >>> 5]! |= 1 << (word & 31);
}

/** Whether each BMP code unit is a letter or number (1) or not (2); 0 while not yet asked. */
const LETTER_OR_NUMBER = new Uint8Array(0x10000);
const L_OR_N = /^[\p{L}\p{N}]$/u;

/** Is the code point `code` a letter or number (`[\p{L}\p{N}]`)? */
function isLetterOrNumber(code: number): boolean {
  if (code < 0x80)
    return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39);
  if (code > 0xffff) return L_OR_N.test(String.fromCodePoint(code));
  let known = LETTER_OR_NUMBER[code]!;
  if (known === 0) LETTER_OR_NUMBER[code] = known = L_OR_N.test(String.fromCharCode(code)) ? 1 : 2;
  return known === 1;
}

/**
 * The log-odds of a linear model over `featurize(skeleton, spec)`: `bias` plus the weight of every
 * distinct bucket times the vector's value, summed in ascending bucket order exactly as
 * `featurize` lists them, so the result is the same number to the last bit. Computed in one pass
 * over the text into reused typed arrays: no strings, sets, sorts or vectors per call.
 * @example hashedLogit('ignore all rules', spec, weights, bias) // = bias + Σ weights[i] * value
 */
export function hashedLogit(skeleton: string, spec: FeatureSpec, weights: Float32Array, bias: number): number {
  const mask = (1 << spec.bits) - 1;
  const s = scratchFor(spec.bits, skeleton.length + 2);
  const { codes, bounds, words: wordStarts, bits, summary } = s;
  // ` ${skeleton.replace(/[^\p{L}\p{N}]+/gu, ' ').trim()} `, written into `codes` directly, with
  // its code point starts in `bounds` and the start of each word in `wordStarts`.
  let len = 1;
  let count = 1;
  let nWords = 0;
  codes[0] = 0x20;
  bounds[0] = 0;
  let gap = true;
  for (let i = 0; i < skeleton.length; ) {
    const unit = skeleton.charCodeAt(i);
    const code = unit >= 0xd800 && unit <= 0xdbff ? skeleton.codePointAt(i)! : unit;
    const width = code > 0xffff ? 2 : 1;
    if (isLetterOrNumber(code)) {
      if (gap && nWords > 0) {
        bounds[count++] = len;
        codes[len++] = 0x20;
      }
      if (gap) wordStarts[nWords++] = len;
      gap = false;
      bounds[count++] = len;
      codes[len++] = skeleton.charCodeAt(i);
      if (width === 2) codes[len++] = skeleton.charCodeAt(i + 1);
    } else gap = true;
    i += width;
  }
  bounds[count++] = len;
  codes[len++] = 0x20;
  bounds[count] = len;

  // Every hashed n-gram, word and word pair marks its bucket in `bits` (and the bucket's word in
  // `summary`): two ORs, no branch, no counter (the distinct buckets are counted as they are read).
  // Without surrogate pairs code points are units (`bounds[i] === i`), read directly; with the
  // shipped 2- to 5-grams, the four hashes of one start are computed side by side (independent
  // chains, so the processor overlaps them). The order buckets are marked in does not matter.
  const units = count === len;
  if (units && spec.minGram === 2 && spec.maxGram === 5) {
    const P = 0x01000193;
    const s2 = (0x811c9dc5 ^ 2) >>> 0;
    const s3 = (0x811c9dc5 ^ 3) >>> 0;
    const s4 = (0x811c9dc5 ^ 4) >>> 0;
    const s5 = (0x811c9dc5 ^ 5) >>> 0;
    // All four lengths while a 5-gram fits, the units held in locals as the window slides;
    // then the shorter ones at the end of the text.
    let c0 = codes[0]!;
    let c1 = codes[1]!;
    let c2 = count > 2 ? codes[2]! : 0;
    let c3 = count > 3 ? codes[3]! : 0;
    let i = 0;
    for (; i + 5 <= count; i++) {
      const c4 = codes[i + 4]!;
      mark(bits, summary, Math.imul(Math.imul(s2 ^ c0, P) ^ c1, P) & mask);
      mark(bits, summary, Math.imul(Math.imul(Math.imul(s3 ^ c0, P) ^ c1, P) ^ c2, P) & mask);
      mark(bits, summary, Math.imul(Math.imul(Math.imul(Math.imul(s4 ^ c0, P) ^ c1, P) ^ c2, P) ^ c3, P) & mask);
      const h5 = Math.imul(Math.imul(Math.imul(Math.imul(Math.imul(s5 ^ c0, P) ^ c1, P) ^ c2, P) ^ c3, P) ^ c4, P);
      mark(bits, summary, h5 & mask);
      c0 = c1;
      c1 = c2;
      c2 = c3;
      c3 = c4;
    }
    for (; i + 2 <= count; i++) {
      const a = codes[i]!;
      const b = codes[i + 1]!;
      mark(bits, summary, Math.imul(Math.imul(s2 ^ a, P) ^ b, P) & mask);
      if (i + 3 > count) continue;
      const c = codes[i + 2]!;
      mark(bits, summary, Math.imul(Math.imul(Math.imul(s3 ^ a, P) ^ b, P) ^ c, P) & mask);
      if (i + 4 > count) continue;
      const d = codes[i + 3]!;
      mark(bits, summary, Math.imul(Math.imul(Math.imul(Math.imul(s4 ^ a, P) ^ b, P) ^ c, P) ^ d, P) & mask);
    }
  } else {
    for (let n = spec.minGram; n <= spec.maxGram; n++) {
      const seed = (0x811c9dc5 ^ n) >>> 0;
      for (let i = 0; i + n <= count; i++) {
        let h = seed;
        if (units) for (let u = i; u < i + n; u++) h = Math.imul(h ^ codes[u]!, 0x01000193);
        else for (let u = bounds[i]!, to = bounds[i + n]!; u < to; u++) h = Math.imul(h ^ codes[u]!, 0x01000193);
        mark(bits, summary, h & mask);
      }
    }
  }
  // Word unigrams and bigrams: a word ends one unit before the next word starts (one space
  // between), the last one unit before the closing space; a bigram is the units from one word's
  // start to the next word's end.
  const unigram = (0x811c9dc5 ^ 101) >>> 0;
  const bigram = (0x811c9dc5 ^ 102) >>> 0;
  for (let k = 0; k < nWords; k++) {
    const from = wordStarts[k]!;
    const to = k + 1 < nWords ? wordStarts[k + 1]! - 1 : len - 1;
    let h = unigram;
    for (let u = from; u < to; u++) h = Math.imul(h ^ codes[u]!, 0x01000193);
    mark(bits, summary, h & mask);
    if (k + 1 >= nWords) break;
    const end = k + 2 < nWords ? wordStarts[k + 2]! - 1 : len - 1;
    h = bigram;
    for (let u = from; u < end; u++) h = Math.imul(h ^ codes[u]!, 0x01000193);
    mark(bits, summary, h & mask);
  }
  // The distinct buckets in ascending order, read off `summary` and `bits` (both left empty);
  // hashed buckets spread over the whole space, so every word of `summary` is looked at.
  // At most one bucket per mark: per n-gram length at most `count` starts, two per word.
  const most = Math.min(mask + 1, (spec.maxGram - spec.minGram + 1) * count + 2 * nWords);
  if (s.buckets.length < most) s.buckets = new Int32Array(most);
  const buckets = s.buckets;
  let nb = 0;
  for (let top = 0; top < summary.length; top++) {
    let t = summary[top]!;
    if (t === 0) continue;
    summary[top] = 0;
    while (t !== 0) {
      const lowTop = t & -t;
      t ^= lowTop;
      const word = (top << 5) | (31 - Math.clz32(lowTop));
      let w = bits[word]!;
      bits[word] = 0;
      do {
        const low = w & -w;
        w ^= low;
        buckets[nb++] = (word << 5) | (31 - Math.clz32(low));
      } while (w !== 0);
    }
  }
  // `featurize` stores the value as a float32; each product and the running sum are doubles.
  // Summed in a loop of its own: the sum is one chain of dependent additions, which the
  // unpredictable branches of the readout above would otherwise keep interrupting.
  const value = nb > 0 ? Math.fround(1 / Math.sqrt(nb)) : 0;
  let z = bias;
  for (let k = 0; k < nb; k++) z += weights[buckets[k]!]! * value;
  return z;
}
