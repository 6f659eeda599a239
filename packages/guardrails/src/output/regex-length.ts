/**
 * The longest text, in UTF-16 code units, that a regular expression can match: `Infinity` when a
 * quantifier is unbounded (`*`, `+`, `{n,}`) or a back-reference repeats a group. Lookarounds and
 * anchors match nothing; with the `u` or `v` flag one character (`.`, a class, an escape) may be a
 * surrogate pair, so it counts as two units. The bound is an upper bound, not always reached.
 *
 * `outputPolicy` holds back at least this many characters of a stream, so a match of a bounded
 * pattern can never be split between text already released and text still to come.
 * @example maxMatchLength(/\bAPI[-_ ]?KEY\b/i) // 7
 * @example maxMatchLength(/secret\s+code/) // Infinity
 */
export function maxMatchLength(re: RegExp): number {
  const unicode = re.flags.includes('u') || re.flags.includes('v');
  return new Parser(re.source, unicode ? 2 : 1).alternation();
}

class Parser {
  #i = 0;
  readonly #src: string;
  /** Code units one "any character" atom can take. */
  readonly #char: number;

  constructor(src: string, char: number) {
    this.#src = src;
    this.#char = char;
  }

  /** `a|b|c` up to the end or a closing parenthesis. */
  alternation(): number {
    let best = this.sequence();
    while (this.#src[this.#i] === '|') {
      this.#i++;
      best = Math.max(best, this.sequence());
    }
    return best;
  }

  sequence(): number {
    let total = 0;
    while (this.#i < this.#src.length && this.#src[this.#i] !== '|' && this.#src[this.#i] !== ')') {
      const atom = this.atom();
      total += this.quantified(atom);
    }
    return total;
  }

  /** Applies a quantifier after an atom of length `atom`, if there is one. */
  quantified(atom: number): number {
    const src = this.#src;
    const c = src[this.#i];
    let times = 1;
    if (c === '*' || c === '+') {
      this.#i++;
      times = Number.POSITIVE_INFINITY;
    } else if (c === '?') {
      this.#i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(this.#i));
      if (m) {
        this.#i += m[0].length;
        times = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
      }
    } else return atom;
    if (src[this.#i] === '?') this.#i++; // lazy
    // An unbounded repeat of something that matches nothing still matches nothing.
    return atom === 0 ? 0 : atom * times;
  }

  atom(): number {
    const src = this.#src;
    const c = src[this.#i]!;
    if (c === '^' || c === '$') {
      this.#i++;
      return 0;
    }
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '\\') return this.escape();
    if (c === '.') {
      this.#i++;
      return this.#char;
    }
    const cp = src.codePointAt(this.#i)!;
    const width = cp > 0xffff ? 2 : 1;
    this.#i += width;
    return width;
  }

  group(): number {
    const src = this.#src;
    this.#i++; // (
    let lookaround = false;
    if (src[this.#i] === '?') {
      const head = src.slice(this.#i, this.#i + 3);
      if (head.startsWith('?=') || head.startsWith('?!') || head.startsWith('?<=') || head.startsWith('?<!')) {
        lookaround = true;
        this.#i += head.startsWith('?<') ? 3 : 2;
      } else if (head.startsWith('?<')) {
        this.#i = src.indexOf('>', this.#i) + 1; // named group
      } else {
        // (?:...) and modifier groups such as (?i:...)
        this.#i = src.indexOf(':', this.#i) + 1;
      }
    }
    const inner = this.alternation();
    this.#i++; // )
    return lookaround ? 0 : inner;
  }

  charClass(): number {
    const src = this.#src;
    this.#i++; // [
    let depth = 1;
    while (this.#i < src.length && depth > 0) {
      const c = src[this.#i];
      if (c === '\\') this.#i += 2;
      else {
        // Nested classes exist with the `v` flag.
        if (c === '[') depth++;
        else if (c === ']') depth--;
        this.#i++;
      }
    }
    // A `v`-flag class may hold strings (\q{...}); they are short, but not bounded here.
    return this.#char;
  }

  escape(): number {
    const src = this.#src;
    const next = src[this.#i + 1] ?? '';
    if (next === 'b' || next === 'B') {
      this.#i += 2;
      return 0;
    }
    if (/[1-9]/.test(next) || next === 'k') {
      // A back-reference repeats a group's text: bounded only by that group; count it as unbounded.
      this.#i += 2;
      if (next === 'k') this.#i = src.indexOf('>', this.#i) + 1;
      else while (/\d/.test(src[this.#i] ?? '')) this.#i++;
      return Number.POSITIVE_INFINITY;
    }
    if (next === 'u' && src[this.#i + 2] === '{') {
      const end = src.indexOf('}', this.#i);
      const cp = Number.parseInt(src.slice(this.#i + 3, end), 16);
      this.#i = end + 1;
      return cp > 0xffff ? 2 : 1;
    }
    if (next === 'u') {
      this.#i += 6;
      return 1;
    }
    if (next === 'x') {
      this.#i += 4;
      return 1;
    }
    if (next === 'c') {
      this.#i += 3;
      return 1;
    }
    if (next === 'p' || next === 'P') {
      this.#i = src.indexOf('}', this.#i) + 1;
      return this.#char;
    }
    this.#i += 2;
    // \D \W \S may match an astral character; \d \w \s and escaped literals are one unit.
    return /[DWS]/.test(next) ? this.#char : 1;
  }
}
