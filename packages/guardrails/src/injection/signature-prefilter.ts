import { IdList, LiteralScanner } from './literal-scanner';
import { requiredLiterals } from './required-literals';
import { SIGNATURES, type Signature } from './signatures';

/**
 * Which signatures can match a text, decided by one scan for the literals their regexes require
 * (`requiredLiterals`): a signature whose every clause has a literal in the text is run; one
 * with a clause none of whose literals occurs cannot match and is skipped. A regex with no
 * required literal has no clauses and always runs. Exact by construction: it skips only what
 * cannot match, so the hits are those of running every signature.
 */
export class SignaturePrefilter {
  private readonly scanner: LiteralScanner;
  /** Per signature, per regex (plain, squeezed): the clauses, each the literal ids it accepts. */
  private readonly clauses: { plain: number[][]; squeezed: number[][] }[];
  private readonly plain: ClauseIndex;
  private readonly squeezed: ClauseIndex;
  private readonly seen: Uint8Array;
  /** The literal ids `seen` marks for the text at hand (cleared back after each call). */
  private readonly found: IdList;
  /** Per clause, the call that last counted it; per signature, the call its count belongs to. */
  private readonly clauseStamp: Uint32Array;
  private readonly signatureStamp: Uint32Array;
  private readonly satisfied: Uint16Array;
  private stamp = 0;
  /** The flags `reusedCandidates` returns. */
  private readonly reused: Uint8Array;

  constructor(signatures: readonly Signature[]) {
    const ids = new Map<string, number>();
    const idOf = (s: string) => {
      let id = ids.get(s);
      if (id === undefined) ids.set(s, (id = ids.size));
      return id;
    };
    const clausesOf = (re: RegExp) => requiredLiterals(re).map((clause) => clause.map(idOf));
    this.clauses = signatures.map((sig) => ({ plain: clausesOf(sig.re), squeezed: clausesOf(sig.squeezed) }));
    this.scanner = new LiteralScanner([...ids.keys()]);
    this.seen = new Uint8Array(ids.size);
    this.found = new IdList(ids.size);
    this.plain = indexClauses(
      this.clauses.map((c) => c.plain),
      ids.size,
    );
    this.squeezed = indexClauses(
      this.clauses.map((c) => c.squeezed),
      ids.size,
    );
    this.clauseStamp = new Uint32Array(Math.max(this.plain.clauses, this.squeezed.clauses));
    this.signatureStamp = new Uint32Array(signatures.length);
    this.satisfied = new Uint16Array(signatures.length);
    this.reused = new Uint8Array(signatures.length);
  }

  /**
   * One flag per signature: 1 when it may match `text` (its plain regex, or `squeezed`): it has no
   * clause, or each of its clauses has a literal in the text. Read from the literals found, each
   * counting the clauses it satisfies, rather than by checking every clause of every signature.
   */
  candidates(text: string, squeezed: boolean): Uint8Array {
    const index = squeezed ? this.squeezed : this.plain;
    return this.markInto(text, index, index.always.slice());
  }

  /**
   * `candidates` written into one buffer this prefilter keeps for it, so a scan allocates no
   * flags: the flags hold until the next call of `reusedCandidates` (scans are synchronous).
   */
  reusedCandidates(text: string, squeezed: boolean): Uint8Array {
    const index = squeezed ? this.squeezed : this.plain;
    const out = this.reused;
    out.set(index.always);
    return this.markInto(text, index, out);
  }

  /** Sets `out[k] = 1` for each signature whose every clause has a literal in `text`; returns `out`. */
  private markInto(text: string, index: ClauseIndex, out: Uint8Array): Uint8Array {
    const { seen, found } = this;
    found.count = 0;
    this.scanner.occurring(text, seen, found);
    if (this.stamp === 0xffffffff) {
      this.stamp = 0;
      this.clauseStamp.fill(0);
      this.signatureStamp.fill(0);
    }
    const stamp = ++this.stamp;
    const { clauseStamp, signatureStamp, satisfied } = this;
    for (let f = 0; f < found.count; f++) {
      const id = found.ids[f]!;
      seen[id] = 0;
      for (let e = index.start[id]!, end = index.start[id + 1]!; e < end; e++) {
        const clause = index.clause[e]!;
        if (clauseStamp[clause] === stamp) continue;
        clauseStamp[clause] = stamp;
        const k = index.signature[clause]!;
        if (signatureStamp[k] !== stamp) {
          signatureStamp[k] = stamp;
          satisfied[k] = 0;
        }
        if (++satisfied[k]! === index.need[k]) out[k] = 1;
      }
    }
    return out;
  }
}

/** Clauses numbered across signatures, with the clauses each literal satisfies (CSR rows by literal id). */
interface ClauseIndex {
  /** Clauses in all. */
  readonly clauses: number;
  /** Per signature, how many clauses it has. */
  readonly need: Uint16Array;
  /** Per clause, its signature. */
  readonly signature: Uint16Array;
  /** Row `id` of the literal index: `clause[start[id]..start[id + 1])`. */
  readonly start: Uint32Array;
  readonly clause: Uint32Array;
  /** Per signature, 1 when it has no clause (it always runs), else 0. */
  readonly always: Uint8Array;
}

function indexClauses(bySignature: readonly number[][][], literals: number): ClauseIndex {
  const need = Uint16Array.from(bySignature, (clauses) => clauses.length);
  const signature: number[] = [];
  const rows: number[][] = Array.from({ length: literals }, () => []);
  bySignature.forEach((clauses, k) => {
    for (const clause of clauses) {
      const c = signature.length;
      signature.push(k);
      for (const id of new Set(clause)) rows[id]!.push(c);
    }
  });
  const start = new Uint32Array(literals + 1);
  for (let id = 0; id < literals; id++) start[id + 1] = start[id]! + rows[id]!.length;
  return {
    clauses: signature.length,
    need,
    signature: Uint16Array.from(signature),
    start,
    clause: Uint32Array.from(rows.flat()),
    always: Uint8Array.from(need, (n) => (n === 0 ? 1 : 0)),
  };
}

let shared: SignaturePrefilter | undefined;

/** The prefilter of `SIGNATURES`, built on first use. */
export function signaturePrefilter(): SignaturePrefilter {
  shared ??= new SignaturePrefilter(SIGNATURES);
  return shared;
}
