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
