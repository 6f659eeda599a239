/**
 * Child of the memory benchmark (run with --expose-gc): fills one in-memory limiter with N distinct
 * keys and prints one JSON line with RSS and heap before and after (after a full GC each time).
 */
import { MemoryStore } from '@rel/core';
import { RateLimiterMemory } from 'rate-limiter-flexible';

const which = process.argv[2];
const n = Number(process.argv[3] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function snapshot() {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

async function main(): Promise<void> {
  const keys = Array.from({ length: n }, (_, i) => `user:${i}`);
  const before = snapshot();
  const t0 = performance.now();
  let kept: unknown;
  if (which === 'rel') {
    // Period 1 h, so no key expires during the run; maxKeys above n so none is evicted.
    const store = new MemoryStore({ maxKeys: n + 1 });
    for (const key of keys) await store.acquire([{ type: 'rate', key, limit: 1000, periodMs: 3_600_000, cost: 1 }]);
    if (store.size !== n) throw new Error(`rel kept ${store.size} keys, expected ${n}`);
    kept = store;
  } else if (which === 'rlf') {
    const limiter = new RateLimiterMemory({ points: 1000, duration: 3600 });
    for (const key of keys) await limiter.consume(key, 1);
    kept = limiter;
  } else if (which === 'baseline') {
    kept = keys;
  } else throw new Error(`unknown limiter ${which}`);
  const fillMs = performance.now() - t0;
  const after = snapshot();
  process.stdout.write(`${JSON.stringify({ which, n, before, after, fillMs, alive: kept !== undefined })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
