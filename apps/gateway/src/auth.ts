import { hash, timingSafeEqual } from 'node:crypto';
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
 * Resolves API keys to callers. Keys are kept only as SHA-256 digests and compared in constant
 * time against every configured digest, so timing reveals neither the key nor which entry matched.
 * @example
 * const ring = new KeyRing(config.keys);
 * const caller = ring.authenticate(req.headers.authorization); // 401 RelError when unknown
 * ring.authorize(caller, 'chat'); // 403 RelError when not allowed
 */
export class KeyRing {
  readonly #entries: ReadonlyArray<{ digest: Buffer; caller: Caller }>;

  constructor(keys: GatewayConfig['keys']) {
    this.#entries = keys.map((k) => ({
      digest: Buffer.from(k.hash.slice('sha256:'.length), 'hex'),
      caller: { org: k.org, tier: k.tier, keyId: k.hash.slice(7, 19), ...(k.models ? { models: k.models } : {}) },
    }));
  }

  /**
   * The caller for an `Authorization: Bearer <key>` header.
   * @throws RelError `unauthorized` (401) when the key is missing or unknown.
   */
  authenticate(authorization: string | undefined): Caller {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) throw unauthorized(401, 'missing API key: send Authorization: Bearer <key>');
    // One-shot: no Hash object per request.
    const digest = hash('sha256', match[1], 'buffer');
    let found: Caller | undefined;
    for (const e of this.#entries) if (timingSafeEqual(e.digest, digest) && !found) found = e.caller;
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
