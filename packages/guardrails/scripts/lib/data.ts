import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One labelled text. */
export interface Example {
  readonly text: string;
  readonly label: 'injection' | 'benign';
  readonly source: string;
  /** The held-out sets' group: `direct`, a language code, `doc` (indirect, in content), `obf`, `sec`... */
  readonly kind?: string;
}

/** `../shared/data/injection/` next to the repository root, resolved from this file. */
export const SHARED_INJECTION_DIR = new URL('../../../../../shared/data/injection/', import.meta.url);

function readJsonl(url: URL): Example[] {
  return readFileSync(fileURLToPath(url), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Example);
}

/** The deepset training split (English and German, labelled). */
export function loadDeepset(): Example[] {
  return readJsonl(new URL('deepset-train.jsonl', SHARED_INJECTION_DIR));
}

/** NotInject: benign prompts full of trigger words (used for measuring only, never for training). */
export function loadNotInject(): Example[] {
  return readJsonl(new URL('notinject.jsonl', SHARED_INJECTION_DIR));
}

/** The hand-written examples kept in this repository (`source: rel-authored`). */
export function loadAuthored(): Example[] {
  return readJsonl(new URL('../data/authored-injection.jsonl', import.meta.url));
}

/**
 * rel's hand-written held-out sets (`test/fixtures/held-out-injection*.jsonl`): never trained on,
 * never used to choose a threshold. Set `a` was used to find failure families while improving the
 * signatures, so its figures are optimistic; set `b` was written before that work was measured and
 * only scored afterwards.
 */
export function loadHeldOut(set: 'a' | 'b'): Example[] {
  const file = set === 'a' ? 'held-out-injection.jsonl' : 'held-out-injection-b.jsonl';
  return readJsonl(new URL(`../../test/fixtures/${file}`, import.meta.url));
}
