/**
 * `pnpm bench <name>`: runs one side-by-side benchmark and appends its entry to bench/RESULTS.md.
 * Benchmarks are never part of `pnpm test`.
 */
import { loadNow, record } from './lib/report';

type Bench = () => Promise<string>;

const BENCHES: Record<string, { what: string; load: () => Promise<Bench> }> = {
  policy: {
    what: 'retry + timeout + circuit breaker around a resolved call: rel vs cockatiel vs p-retry+opossum',
    load: async () => (await import('./benchmarks/policy')).policyBench,
  },
  pipeline: {
    what: 'per-request overhead of the full in-process composition, OTel API only and with the SDK',
    load: async () => (await import('./benchmarks/pipeline')).pipelineBench,
  },
  gateway: {
    what: 'HTTP gateway req/s and added latency: rel gateway vs @portkey-ai/gateway over a fake upstream',
    load: async () => (await import('./benchmarks/gateway')).gatewayBench,
  },
  guardrails: {
    what: 'input scan MB/s: rel normalize+injection+PII vs vard (injection) and openredaction (PII)',
    load: async () => (await import('./benchmarks/guardrails')).guardrailsBench,
  },
  ratelimit: {
    what: 'rate-limit decisions/s: rel MemoryStore/RedisStore vs rate-limiter-flexible; redis-benchmark ceiling',
    load: async () => (await import('./benchmarks/ratelimit')).ratelimitBench,
  },
  memory: {
    what: 'resident memory of 1M distinct keys in the in-memory limiter: rel vs rate-limiter-flexible',
    load: async () => (await import('./benchmarks/memory')).memoryBench,
  },
};

async function main(): Promise<void> {
  const name = process.argv[2];
  const bench = name ? BENCHES[name] : undefined;
  if (!name || !bench) {
    console.error(
      `usage: pnpm bench <name>\n\n${Object.entries(BENCHES)
        .map(([n, b]) => `  ${n.padEnd(11)} ${b.what}`)
        .join('\n')}`,
    );
    process.exitCode = name ? 1 : 0;
    return;
  }
  const load = loadNow();
  const body = await (await bench.load())();
  record(name, body, load);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
