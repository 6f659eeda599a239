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
  const seen = new Set<number>();
  // Code point boundaries, so n-grams never split a surrogate pair; hashed in place, no substrings.
  const bounds: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) bounds.push(i);
  }
  bounds.push(text.length);
  const count = bounds.length - 1;
  for (let n = spec.minGram; n <= spec.maxGram; n++) {
    for (let i = 0; i + n <= count; i++) {
      let h = (0x811c9dc5 ^ n) >>> 0;
      for (let u = bounds[i]!; u < bounds[i + n]!; u++) {
        h ^= text.charCodeAt(u);
        h = Math.imul(h, 0x01000193) >>> 0;
      }
      seen.add(h & mask);
    }
  }
  const words = text.trim().split(' ').filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    seen.add(fnv1a(words[i]!, 101) & mask);
    if (i + 1 < words.length) seen.add(fnv1a(`${words[i]} ${words[i + 1]}`, 102) & mask);
  }
  const indices = Int32Array.from([...seen].sort((a, b) => a - b));
  const value = indices.length > 0 ? 1 / Math.sqrt(indices.length) : 0;
  return { indices, values: new Float32Array(indices.length).fill(value) };
}
