import { createPiiDetector, type PiiDetector, type PiiDetectorOptions } from './detect-pii';
import { PII_LABELS, type PiiType } from './pii-types';
import { replaceMatches } from './redact-pii';

const LABELS = Object.values(PII_LABELS).join('|');
const PLACEHOLDER = new RegExp(`\\[(?:${LABELS})_\\d+\\]`, 'g');
const PLACEHOLDER_PREFIX = /^\[[A-Z_]*\d*$/;
/** Longest placeholder a stream restorer may have to hold back: `[` + label + `_` + digits + `]`. */
const MAX_PLACEHOLDER = 2 + Math.max(...Object.values(PII_LABELS).map((l) => l.length)) + 1 + 9;

const identity = (value: string): string => value;

/** Restores a streamed text chunk by chunk; see `PiiVault.streamRestorer`. */
export interface StreamRestorer {
  /** Takes the next chunk; returns the restored text that is safe to emit now. */
  push(chunk: string): string;
  /** The end of the stream: returns whatever was held back, restored. */
  flush(): string;
}

/**
 * Reversible tokenization for one request. `tokenize` replaces each PII value with a stable typed
 * placeholder (`[EMAIL_1]`: the same value always gets the same placeholder); `restore` puts the
 * values back into the model's answer. The mapping lives only in this object: never log it, never
 * share it between requests, never send it to telemetry.
 *
 * `restore(tokenize(x)) === x` for every text: a placeholder-like string already present in the
 * input is never issued, so it is not mistaken for one on the way back.
 * @example
 * const vault = new PiiVault();
 * const safe = vault.tokenize('write to jo@example.com'); // 'write to [EMAIL_1]'
 * vault.restore('Sent to [EMAIL_1].'); // 'Sent to jo@example.com.'
 */
export class PiiVault {
  readonly #detect: PiiDetector;
  readonly #byValue = new Map<string, string>();
  readonly #byPlaceholder = new Map<string, string>();
  readonly #seen = new Set<string>();
  readonly #counters = new Map<PiiType, number>();

  /**
   * @param options detector options, or a ready `detector` (default: every type, US phones).
   * @throws ZodError on a bad detector option.
   */
  constructor(options: PiiDetectorOptions & { detector?: PiiDetector } = {}) {
    const { detector, ...detectorOptions } = options;
    this.#detect = detector ?? createPiiDetector(detectorOptions);
  }

  /** How many distinct values the vault holds. */
  get size(): number {
    return this.#byValue.size;
  }

  /** The types of the values held, each once. */
  get types(): PiiType[] {
    return [...this.#counters.keys()];
  }

  /**
   * Marks the placeholder-like strings already in `text` as never to be issued, so they survive
   * `restore` unchanged. `tokenize` does this itself; call it first on every text of a request
   * when tokenizing them one by one.
   */
  reserve(text: string): void {
    for (const literal of text.match(PLACEHOLDER) ?? []) {
      if (!this.#byPlaceholder.has(literal)) this.#seen.add(literal);
    }
  }

  /** Replaces every PII value in `text` with its placeholder, issuing new ones as needed. */
  tokenize(text: string): string {
    this.reserve(text);
    return replaceMatches(text, this.#detect(text), (m, value) => this.placeholderFor(m.type, value));
  }

  /** The placeholder of `value` (issued on first use). */
  placeholderFor(type: PiiType, value: string): string {
    const key = `${type}\u0000${value}`;
    const known = this.#byValue.get(key);
    if (known) return known;
    let n = this.#counters.get(type) ?? 0;
    let placeholder: string;
    do placeholder = `[${PII_LABELS[type]}_${++n}]`;
    while (this.#seen.has(placeholder));
    this.#counters.set(type, n);
    this.#byValue.set(key, placeholder);
    this.#byPlaceholder.set(placeholder, value);
    return placeholder;
  }

  /**
   * Puts the original values back in place of the placeholders this vault issued; anything else is
   * left as it is. `encode` transforms each value first (e.g. for inside a JSON string).
   */
  restore(text: string, encode: (value: string) => string = identity): string {
    if (this.#byPlaceholder.size === 0) return text;
    return text.replace(PLACEHOLDER, (p) => {
      const value = this.#byPlaceholder.get(p);
      return value === undefined ? p : encode(value);
    });
  }

  /**
   * A restorer for a streamed answer in which a placeholder may be split across chunks: it holds
   * back at most one possible placeholder prefix (bounded, under 30 characters) at the end of each
   * chunk. The concatenation of everything it returns equals `restore` of the whole text.
   */
  streamRestorer(encode?: (value: string) => string): StreamRestorer {
    let pending = '';
    return {
      push: (chunk) => {
        pending += chunk;
        const open = pending.lastIndexOf('[');
        let cut = pending.length;
        if (open >= 0 && pending.length - open < MAX_PLACEHOLDER && PLACEHOLDER_PREFIX.test(pending.slice(open))) {
          cut = open;
        }
        const ready = pending.slice(0, cut);
        pending = pending.slice(cut);
        return this.restore(ready, encode);
      },
      flush: () => {
        const rest = pending;
        pending = '';
        return this.restore(rest, encode);
      },
    };
  }
}
