import { createHash } from 'node:crypto';
import type { Fingerprint } from './run-results';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Hashes every file of a golden set (as `loadGoldenSet` collected them), so a later run can tell
 * whether a prompt, template, schema or assertion changed.
 * @example fingerprint(new Map([['golden.yaml', 'version: 1']])).files['golden.yaml']
 */
export function fingerprint(assets: ReadonlyMap<string, string>): Fingerprint {
  const files: Record<string, string> = {};
  for (const path of [...assets.keys()].sort()) files[path] = sha256(assets.get(path) as string);
  const combined = sha256(
    Object.entries(files)
      .map(([p, h]) => `${p}\0${h}`)
      .join('\n'),
  );
  return { combined, files };
}

/** How a golden set differs from the one a baseline was made from. */
export interface FingerprintChange {
  readonly changed: boolean;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly modified: readonly string[];
}

/**
 * Compares two fingerprints file by file.
 * @example compareFingerprints(before, after).modified // ['templates/support-reply.txt']
 */
export function compareFingerprints(before: Fingerprint, after: Fingerprint): FingerprintChange {
  const added = Object.keys(after.files).filter((p) => !Object.hasOwn(before.files, p));
  const removed = Object.keys(before.files).filter((p) => !Object.hasOwn(after.files, p));
  const modified = Object.keys(after.files).filter(
    (p) => Object.hasOwn(before.files, p) && before.files[p] !== after.files[p],
  );
  return {
    changed: added.length + removed.length + modified.length > 0 || before.combined !== after.combined,
    added,
    removed,
    modified,
  };
}
