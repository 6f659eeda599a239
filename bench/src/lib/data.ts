import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from './report';

/** The shared evaluation data, `../shared/data` from the repository root (never copied into the repo). */
export const DATA_DIR = resolve(REPO_ROOT, '../shared/data');

/** The `text` of every line of a JSON Lines file under the data directory. */
export function texts(file: string): string[] {
  return readFileSync(resolve(DATA_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => (JSON.parse(l) as { text: string }).text);
}

/**
 * A realistic prompt mix: every `stride`-th row of the deepset injection set (attacks and benign
 * prompts), of NotInject (benign prompts full of trigger words, some not English) and of the
 * presidio synthetic PII sentences, interleaved so each batch sees all three.
 */
export function promptMix(stride: number): string[] {
  const sets = [
    texts('injection/deepset-train.jsonl'),
    texts('injection/notinject.jsonl'),
    texts('pii/presidio-synth.jsonl'),
  ].map((rows) => rows.filter((_, i) => i % stride === 0));
  const out: string[] = [];
  for (let i = 0; out.length < sets.reduce((a, s) => a + s.length, 0); i++) {
    for (const s of sets) if (i < s.length) out.push(s[i] as string);
  }
  return out;
}
