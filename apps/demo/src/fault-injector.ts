import type { RequestFault } from './scenario';

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Scripts per-request faults through the gateway. The gateway does not pass a client's headers on
 * to its providers, but it does pass the `Idempotency-Key` (identical on every attempt, retry and
 * re-ask of one request). The demo registers a fault under the key it sends, and this `fetch`,
 * given to the gateway, adds the fake provider's `x-fake-fault` header to the upstream calls
 * whose key and model match, as many times as the fault asks.
 * @example
 * const faults = new FaultInjector();
 * faults.set('idem-42', { fault: { type: 'schema_violation' }, times: 1 });
 * createGateway(config, { fetch: faults.fetch });
 */
export class FaultInjector {
  readonly #faults = new Map<string, { fault: RequestFault; left: number }>();
  readonly #fetch: Fetch;

  constructor(fetchImpl: Fetch = (input, init) => globalThis.fetch(input, init)) {
    this.#fetch = fetchImpl;
  }

  /** Applies `fault` to the upstream calls of the request sent with this idempotency key. */
  set(idempotencyKey: string, fault: RequestFault): void {
    this.#faults.set(idempotencyKey, { fault, left: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** Forgets the fault of a finished request. */
  delete(idempotencyKey: string): void {
    this.#faults.delete(idempotencyKey);
  }

  /** Forgets every fault. */
  clear(): void {
    this.#faults.clear();
  }

  /** The `fetch` to hand to the gateway. */
  readonly fetch: Fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    const key = headers.get('idempotency-key');
    const entry = key ? this.#faults.get(key) : undefined;
    if (!entry || entry.left <= 0) return this.#fetch(input, init);
    if (entry.fault.model !== undefined && modelOf(init?.body) !== entry.fault.model) return this.#fetch(input, init);
    entry.left -= 1;
    headers.set('x-fake-fault', JSON.stringify(entry.fault.fault));
    return this.#fetch(input, { ...init, headers });
  };
}

function modelOf(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed = JSON.parse(body) as { model?: unknown };
    return typeof parsed.model === 'string' ? parsed.model : undefined;
  } catch {
    return undefined;
  }
}
