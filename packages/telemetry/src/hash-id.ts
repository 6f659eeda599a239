import { hash, randomBytes } from 'node:crypto';

/** Hex characters kept from the sha256 digest: 64 bits, enough to tell ids apart, too few to matter as a fingerprint. */
const HASH_HEX_CHARS = 16;

/**
 * Makes a salted, truncated sha256 hasher for ids that must not leave the process in clear
 * (user ids, idempotency keys). The same salt gives the same hash, so a user's requests still
 * group together; without the salt a hash cannot be reversed by hashing a list of guesses.
 *
 * @param salt - Secret salt. Pass the same one to every instance to correlate across them; when
 *   omitted a random per-process salt is drawn, so hashes differ between processes.
 * @example
 * const hash = idHasher('s3cret');
 * hash('user-42'); // '9c1f0e...' (16 hex characters)
 */
export function idHasher(salt?: string): (id: string) => string {
  const prefix = `${salt ?? randomBytes(16).toString('hex')}\0`;
  // One-shot `crypto.hash` of salt, NUL, id: the same digest as a streamed `createHash` over the
  // three parts, in about half the time (no Hash object per id).
  return (id) => hash('sha256', prefix + id, 'hex').slice(0, HASH_HEX_CHARS);
}
