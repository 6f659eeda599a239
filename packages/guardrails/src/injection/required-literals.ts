/**
 * Literal strings a regex match must contain, read off the regex source.
 *
 * The answer is a list of clauses: every match contains, for each clause, at least one of its
 * strings as a substring. An empty list means nothing is known (the regex always has to run).
 * The analysis is conservative: anything it does not read as a plain literal character (classes,
 * `.`, escapes other than escaped punctuation, assertions, backreferences) requires nothing, and an
 * optional part (`?`, `*`, `{0,n}`) requires nothing. Case-insensitive regexes get no clauses.
 */
export type Clauses = readonly (readonly string[])[];

type Node =
  | { kind: 'char'; ch: string }
  | { kind: 'opaque' }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; branches: Node[] }
  | { kind: 'repeat'; min: number; body: Node };

/** Escapes that stand for their character itself (syntax characters and `/`, `-`). */
const LITERAL_ESCAPES = new Set([...'^$\\.*+?()[]{}|/-']);
const CONTROL_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };

class Parser {
  private i = 0;
  private readonly cps: string[];
  constructor(source: string) {
    this.cps = Array.from(source);
  }

  parse(): Node {
    const node = this.alternation();
    if (this.i !== this.cps.length) throw new Error(`unparsed regex source at ${this.i}`);
    return node;
  }

  private peek(): string | undefined {
    return this.cps[this.i];
  }

  private alternation(): Node {
    const branches = [this.sequence()];
    while (this.peek() === '|') {
      this.i++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? branches[0]! : { kind: 'alt', branches };
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      items.push(this.quantified(this.atom()));
    }
    return { kind: 'seq', items };
  }

  private quantified(atom: Node): Node {
    const c = this.peek();
    let min: number;
    if (c === '?' || c === '*') min = 0;
    else if (c === '+') min = 1;
    else if (c === '{') {
      const rest = this.cps.slice(this.i).join('');
      const m = /^\{(\d+)(?:,\d*)?\}/.exec(rest);
      if (!m) return atom;
      min = Number(m[1]);
      this.i += Array.from(m[0]).length - 1;
    } else return atom;
    this.i++;
    if (this.peek() === '?') this.i++; // lazy
    return { kind: 'repeat', min, body: atom };
  }

  private atom(): Node {
    const c = this.cps[this.i++]!;
    if (c === '(') {
      let lookaround = false;
      if (this.peek() === '?') {
        const next = this.cps[this.i + 1];
        if (next === ':') this.i += 2;
        else if (next === '=' || next === '!') {
          this.i += 2;
          lookaround = true;
        } else if (next === '<' && (this.cps[this.i + 2] === '=' || this.cps[this.i + 2] === '!')) {
          this.i += 3;
          lookaround = true;
        } else throw new Error(`unsupported group at ${this.i}`);
      }
      const body = this.alternation();
      if (this.cps[this.i++] !== ')') throw new Error('unbalanced group');
      // A lookaround consumes nothing: read as requiring nothing.
      return lookaround ? { kind: 'opaque' } : body;
    }
    if (c === '[') {
      if (this.peek() === '^') this.i++;
      if (this.peek() === ']') this.i++;
      while (this.i < this.cps.length && this.cps[this.i] !== ']') this.i += this.cps[this.i] === '\\' ? 2 : 1;
      this.i++;
      return { kind: 'opaque' };
    }
    if (c === '\\') {
      const e = this.cps[this.i++]!;
      if (LITERAL_ESCAPES.has(e)) return { kind: 'char', ch: e };
      if (e === 'k') throw new Error('unsupported named backreference');
      if (CONTROL_ESCAPES[e] !== undefined) return { kind: 'char', ch: CONTROL_ESCAPES[e] };
      if ((e === 'p' || e === 'P' || e === 'u' || e === 'x') && this.peek() === '{') {
        while (this.cps[this.i] !== '}') this.i++;
        this.i++;
      } else if (e === 'u') this.i += 4;
      else if (e === 'x') this.i += 2;
      else if (e === 'c') this.i += 1;
      return { kind: 'opaque' };
    }
    if (c === '.' || c === '^' || c === '$') return { kind: 'opaque' };
    if (c === ')' || c === '|' || c === '?' || c === '*' || c === '+') throw new Error(`unexpected ${c}`);
    return { kind: 'char', ch: c };
  }
}

/** How selective a clause is expected to be: longer shortest string first, then fewer strings. */
function better(a: readonly string[], b: readonly string[]): boolean {
  const la = Math.min(...a.map((s) => s.length));
  const lb = Math.min(...b.map((s) => s.length));
  return la !== lb ? la > lb : a.length < b.length;
}

/** `strings` without those containing another of them (a text with the longer one has the shorter). */
function minimal(strings: readonly string[]): string[] {
  return strings.filter((s) => !strings.some((t) => t !== s && s.includes(t)));
}

function best(clauses: Clauses): readonly string[] {
  let out = clauses[0]!;
  for (const c of clauses) if (better(c, out)) out = c;
  return out;
}

function clausesOf(node: Node): Clauses {
  switch (node.kind) {
    case 'char':
      return [[node.ch]];
    case 'opaque':
      return [];
    case 'repeat':
      return node.min >= 1 ? clausesOf(node.body) : [];
    case 'alt': {
      const union = new Set<string>();
      for (const b of node.branches) {
        const c = clausesOf(b);
        if (c.length === 0) return [];
        for (const s of best(c)) union.add(s);
      }
      return [minimal([...union])];
    }
    case 'seq': {
      // Adjacent literal characters make one literal; every other part adds its own clauses.
      const out: (readonly string[])[] = [];
      let run = '';
      for (const item of node.items) {
        if (item.kind === 'char') {
          run += item.ch;
          continue;
        }
        if (run) out.push([run]);
        run = '';
        out.push(...clausesOf(item));
      }
      if (run) out.push([run]);
      return out;
    }
  }
}

/**
 * The clauses of required literals of `re` (see `Clauses`): every match of `re` contains, for
 * each clause, one of its strings.
 * @example requiredLiterals(/(?:ignore|forget) all rules?/u) // [['ignore', 'forget'], [' all rule']]
 */
export function requiredLiterals(re: RegExp): Clauses {
  if (re.flags.includes('i')) return [];
  try {
    return clausesOf(new Parser(re.source).parse());
  } catch {
    return [];
  }
}
