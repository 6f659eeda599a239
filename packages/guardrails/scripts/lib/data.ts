import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One labelled text. */
export interface Example {
  readonly text: string;
  readonly label: 'injection' | 'benign';
  readonly source: string;
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
