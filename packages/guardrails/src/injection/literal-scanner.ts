/**
 * Finds which of a fixed set of literal strings occur in a text, in one pass (Aho-Corasick, with
 * the transitions of every state precomputed over the strings' own alphabet).
 */
class Automaton {
  private readonly width: number;
  private readonly delta: Uint16Array;
  private readonly ascii = new Uint16Array(128);
  private readonly other = new Map<number, number>();
  /** Per state, the ids of the strings ending there (its own and its suffixes'), as CSR rows. */
  private readonly outStart: Uint32Array;
  private readonly outIds: Uint32Array;

  constructor(strings: readonly { text: string; id: number }[]) {
    let symbols = 1; // 0: a character in none of the strings
    for (const { text } of strings) {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c < 128 ? this.ascii[c] === 0 : !this.other.has(c)) {
          if (c < 128) this.ascii[c] = symbols++;
          else this.other.set(c, symbols++);
        }
      }
    }
    this.width = symbols;
    // The trie.
    const children: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    for (const { text, id } of strings) {
      let s = 0;
      for (let i = 0; i < text.length; i++) {
        const a = this.symbol(text.charCodeAt(i));
        let next = children[s]!.get(a);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          own.push([]);
          children[s]!.set(a, next);
        }
        s = next;
      }
      own[s]!.push(id);
    }
    const states = children.length;
    if (states > 0xffff) throw new Error('LiteralScanner: too many strings');
    this.delta = new Uint16Array(states * symbols);
    // Breadth first: a state's failure state is shallower, so its row and outputs are done.
    const fail = new Uint32Array(states);
    const out: number[][] = own.map((ids) => [...ids]);
    const queue: number[] = [];
    for (const [a, next] of children[0]!) {
      this.delta[a] = next;
      queue.push(next);
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      const f = fail[s]!;
      out[s]!.push(...out[f]!);
      for (let a = 0; a < symbols; a++) this.delta[s * symbols + a] = this.delta[f * symbols + a]!;
      for (const [a, next] of children[s]!) {
        fail[next] = this.delta[f * symbols + a]!;
        this.delta[s * symbols + a] = next;
        queue.push(next);
      }
    }
    this.outStart = new Uint32Array(states + 1);
    for (let s = 0; s < states; s++) this.outStart[s + 1] = this.outStart[s]! + out[s]!.length;
    this.outIds = Uint32Array.from(out.flat());
  }

  private symbol(c: number): number {
    return c < 128 ? this.ascii[c]! : (this.other.get(c) ?? 0);
  }

  /**
   * Sets `seen[id] = 1` for the id of every string occurring in `text`, listing in `ids` each one it
   * sets (after those listed already). Returns whether `text` has a non-ASCII unit.
   */
  scan(text: string, seen: Uint8Array, ids?: IdList): boolean {
    const { delta, width, ascii, other, outStart, outIds } = this;
    let s = 0;
    let nonAscii = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      let a: number;
      if (c < 128) a = ascii[c]!;
      else {
        nonAscii = true;
        a = other.get(c) ?? 0;
      }
      s = delta[s * width + a]!;
      for (let k = outStart[s]!, end = outStart[s + 1]!; k < end; k++) {
        const id = outIds[k]!;
        if (seen[id] === 0) {
          seen[id] = 1;
          if (ids) ids.ids[ids.count++] = id;
        }
      }
    }
    return nonAscii;
  }
}

const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * The ids `LiteralScanner.occurring` lists, `ids[0..count)`, in a buffer reused from text to text
 * (an array emptied with `length = 0` gives up its storage and grows it again on every text).
 * Each id is listed at most once per text, so `size` entries, one per string, always suffice.
 */
export class IdList {
  readonly ids: Uint32Array;
  count = 0;

  constructor(size: number) {
    this.ids = new Uint32Array(size);
  }
}

/**
 * Which of a fixed list of literal strings occur in a text. Strings of ASCII and the others go to
 * two automata, the second scanned only over texts that have a non-ASCII character (a string with
 * one cannot occur in a text without).
 */
export class LiteralScanner {
  private readonly ascii: Automaton;
  private readonly unicode: Automaton;
  readonly size: number;

  /** @param strings Non-empty literals; `occurring` reports them by their index in this list. */
  constructor(strings: readonly string[]) {
    const entries = strings.map((text, id) => {
      if (text.length === 0) throw new Error('LiteralScanner: empty string');
      return { text, id };
    });
    this.ascii = new Automaton(entries.filter((e) => !NON_ASCII.test(e.text)));
    this.unicode = new Automaton(entries.filter((e) => NON_ASCII.test(e.text)));
    this.size = strings.length;
  }

  /**
   * Marks `seen[id] = 1` for every string occurring in `text`; `seen` must be cleared by the caller.
   * With `ids`, also lists there each id it marks (ids already marked in `seen` are not listed).
   */
  occurring(text: string, seen: Uint8Array, ids?: IdList): void {
    if (this.ascii.scan(text, seen, ids)) this.unicode.scan(text, seen, ids);
  }
}
