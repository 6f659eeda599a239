import { LiteralScanner } from './literal-scanner';
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
  private readonly seen: Uint8Array;

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
  }

  /** One flag per signature: 1 when it may match `text` (its plain regex, or `squeezed`). */
  candidates(text: string, squeezed: boolean): Uint8Array {
    const seen = this.seen;
    seen.fill(0);
    this.scanner.occurring(text, seen);
    const out = new Uint8Array(this.clauses.length);
    for (let k = 0; k < this.clauses.length; k++) {
      const clauses = squeezed ? this.clauses[k]!.squeezed : this.clauses[k]!.plain;
      out[k] = 1;
      for (const clause of clauses) {
        let any = false;
        for (const id of clause) if (seen[id] === 1) any = true;
        if (!any) {
          out[k] = 0;
          break;
        }
      }
    }
    return out;
  }
}

let shared: SignaturePrefilter | undefined;

/** The prefilter of `SIGNATURES`, built on first use. */
export function signaturePrefilter(): SignaturePrefilter {
  shared ??= new SignaturePrefilter(SIGNATURES);
  return shared;
}
