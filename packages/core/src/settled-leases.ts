/**
 * The lease ids a `MemoryStore` settled in the last `memoryMs`, so a retried settlement is not
 * applied twice. Kept as 64-bit fingerprints with their expiry in typed arrays, not as the id
 * strings in a map: at a few thousand settlements a second a minute's memory is hundreds of
 * thousands of ids, and a map of strings costs ~120 bytes an id, a delete and a set per settlement,
 * and the garbage collector's time marking them (about a third of a `MemoryStore` acquire and
 * settle). Two different ids share a fingerprint with a probability of about 2^-63 per lookup.
 *
 * Ids live in two generations of `memoryMs` each: a new settlement goes to the current one, and a
 * generation is dropped whole once every id in it is forgotten, so nothing is ever deleted one by
 * one. Lookups compare each id's own expiry, so an id is remembered for exactly `memoryMs`.
 * @internal
 */
export class SettledLeases {
  readonly #memoryMs: number;
  readonly #maxIds: number;
  #current = new FingerprintTable(MIN_CAPACITY);
  #previous: FingerprintTable | undefined;
  /** When the current generation took its first id (`NaN`: it has none yet). */
  #since = Number.NaN;

  /**
   * @param memoryMs how long a settlement is remembered
   * @param maxIds most ids remembered; past it the older generation is forgotten early
   */
  constructor(memoryMs: number, maxIds: number) {
    this.#memoryMs = memoryMs;
    this.#maxIds = Math.max(1, maxIds);
  }

  /** Ids remembered (expired ones included until their generation is dropped). */
  get size(): number {
    return this.#current.count + (this.#previous?.count ?? 0);
  }

  /** Whether `id` was settled less than `memoryMs` before `now`. */
  has(id: string, now: number): boolean {
    const h1 = fingerprint(id);
    const h2 = second;
    return this.#current.live(h1, h2, now) || (this.#previous?.live(h1, h2, now) ?? false);
  }

  /** Remembers `id` as settled at `now`, until `now + memoryMs`. */
  add(id: string, now: number): void {
    this.#rotate(now);
    if (Number.isNaN(this.#since)) this.#since = now;
    const h1 = fingerprint(id);
    this.#current.put(h1, second, now + this.#memoryMs);
  }

  clear(): void {
    this.#current = new FingerprintTable(MIN_CAPACITY);
    this.#previous = undefined;
    this.#since = Number.NaN;
  }

  /**
   * Starts a new generation once the current one is `memoryMs` old: every id of the previous one,
   * all settled before the current began, is forgotten by then. Past `maxIds`, forgets the older
   * generation early, and the current one too when it alone holds `maxIds`.
   */
  #rotate(now: number): void {
    if (now >= this.#since + this.#memoryMs) {
      // Ids are only added in a generation's first `memoryMs`, so one twice that old holds nothing live.
      this.#previous = now >= this.#since + 2 * this.#memoryMs ? undefined : this.#current;
      this.#current = new FingerprintTable(tableCapacity(this.#current.count));
      this.#since = Number.NaN;
    }
    if (this.size < this.#maxIds) return;
    this.#previous = undefined;
    if (this.size < this.#maxIds) return;
    this.#current = new FingerprintTable(MIN_CAPACITY);
    this.#since = Number.NaN;
  }
}

/** Slots of a new generation's table, sized for as many ids as the last one took. */
function tableCapacity(lastCount: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < lastCount * 2) capacity *= 2;
  return capacity;
}

const MIN_CAPACITY = 64;
/** The second hash of the last `fingerprint` call (the first is its return value). */
let second = 0;

/**
 * The two 32-bit halves of `id`'s fingerprint in one pass: FNV-1a over its UTF-16 code units, and
 * the same walk with another seed and multiplier, each through murmur3's finalizer. Returns the
 * first; the second (made odd: 0 marks an empty slot) is left in `second`.
 */
function fingerprint(id: string): number {
  let a = 0x811c9dc5 | 0;
  let b = 0x5bd1e995 | 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x2c1b3c6d);
  }
  second = fmix(b) | 1;
  return fmix(a);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Open addressing, linear probing; a slot is empty while its second hash is 0 (stored ones are odd). */
class FingerprintTable {
  #keys: Int32Array;
  #forgetAt: Float64Array;
  #mask: number;
  count = 0;

  constructor(capacity: number) {
    this.#keys = new Int32Array(capacity * 2);
    this.#forgetAt = new Float64Array(capacity);
    this.#mask = capacity - 1;
  }

  live(h1: number, h2: number, now: number): boolean {
    const keys = this.#keys;
    for (let i = h1 & this.#mask; ; i = (i + 1) & this.#mask) {
      const k2 = keys[2 * i + 1] as number;
      if (k2 === 0) return false;
      if (k2 === h2 && keys[2 * i] === h1) return (this.#forgetAt[i] as number) > now;
    }
  }

  put(h1: number, h2: number, forgetAt: number): void {
    if ((this.count + 1) * 2 > this.#forgetAt.length) this.#grow();
    const keys = this.#keys;
    let i = h1 & this.#mask;
    for (; ; i = (i + 1) & this.#mask) {
      const k2 = keys[2 * i + 1] as number;
      if (k2 === 0) break;
      if (k2 === h2 && keys[2 * i] === h1) {
        this.#forgetAt[i] = forgetAt;
        return;
      }
    }
    keys[2 * i] = h1;
    keys[2 * i + 1] = h2;
    this.#forgetAt[i] = forgetAt;
    this.count++;
  }

  #grow(): void {
    const keys = this.#keys;
    const forgetAt = this.#forgetAt;
    const capacity = forgetAt.length * 2;
    this.#keys = new Int32Array(capacity * 2);
    this.#forgetAt = new Float64Array(capacity);
    this.#mask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < forgetAt.length; i++) {
      const h2 = keys[2 * i + 1] as number;
      if (h2 !== 0) this.put(keys[2 * i] as number, h2, forgetAt[i] as number);
    }
  }
}
