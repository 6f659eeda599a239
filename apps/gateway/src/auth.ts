import { hash } from 'node:crypto';
import { RelError } from '@rel/core';
import type { GatewayConfig } from './config';

/** Who a valid API key stands for: its org, tier and allowed model aliases. */
export interface Caller {
  readonly org: string;
  readonly tier: string;
  readonly models?: readonly string[];
  /** A short, non-reversible id of the key, safe for logs. */
  readonly keyId: string;
}

/**
 * `sha256:<hex>` of a key, the form the config file stores.
 * @example hashKey('sk-rel-demo-acme') // 'sha256:f0306be3...'
 */
export function hashKey(key: string): string {
  return `sha256:${hash('sha256', key, 'hex')}`;
}

/**
 * Resolves API keys to callers. Keys are kept only as SHA-256 digests; a presented key is hashed
 * and its digest looked up, one lookup whatever the number of keys. The lookup may take longer
 * for some digests than others, which tells an attacker nothing usable: steering a digest of
 * their choosing towards a stored one is as hard as inverting SHA-256.
 * @example
 * const ring = new KeyRing(config.keys);
 * const caller = ring.authenticate(req.headers.authorization); // 401 RelError when unknown
 * ring.authorize(caller, 'chat'); // 403 RelError when not allowed
 */
export class KeyRing {
  /** Callers by the digest of their key, as a 32-character binary (latin1) string (the first entry wins). */
  readonly #callers = new Map<string, Caller>();

  constructor(keys: GatewayConfig['keys']) {
    for (const k of keys) {
      const digest = Buffer.from(k.hash.slice('sha256:'.length), 'hex').toString('binary');
      if (this.#callers.has(digest)) continue;
      this.#callers.set(digest, {
        org: k.org,
        tier: k.tier,
        keyId: k.hash.slice(7, 19),
        ...(k.models ? { models: k.models } : {}),
      });
    }
  }

  /**
   * The caller for an `Authorization: Bearer <key>` header.
   * @throws RelError `unauthorized` (401) when the key is missing or unknown.
   */
  authenticate(authorization: string | undefined): Caller {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) throw unauthorized(401, 'missing API key: send Authorization: Bearer <key>');
    // One-shot, and a string digest: no Hash object and no Buffer per request.
    const found = this.#callers.get(hash('sha256', match[1], 'binary'));
    if (!found) throw unauthorized(401, 'invalid API key');
    return found;
  }

  /** @throws RelError `unauthorized` (403) when the caller may not use `model`. */
  authorize(caller: Caller, model: string): void {
    if (caller.models && !caller.models.includes(model))
      throw unauthorized(403, `this API key may not use model "${model}"`);
  }
}

function unauthorized(status: 401 | 403, message: string): RelError {
  return new RelError({ kind: 'unauthorized', origin: 'client', status }, { message });
}
