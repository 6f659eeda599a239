/**
 * Child of the gateway benchmark: the rel gateway (`createGateway` from `@rel/gateway`) in front
 * of the fake upstream, in one of two configurations:
 * - `minimal`: one alias with one route; injection, PII and output guardrails off; a tier with no
 *   limits, so the budget middleware has nothing to check; no JSON request log, no Prometheus. The default
 *   retry, breaker, retry budget and timeouts stay (they are what a gateway is for).
 * - `full`: the composition of `apps/gateway/gateway.example.yaml` (two routes with fallback,
 *   injection guard `block`, PII `tokenize`, output deny list and canary, caps, tier limits, the
 *   budget with prices, JSON request log, Prometheus) with limits raised so nothing is refused.
 * argv: <minimal|full> <upstream port>.
 * Sends `{ port }` over IPC once listening.
 */
import { createGateway, hashKey, parseConfig } from '@rel/gateway';
import type { GatewayConfigInput } from '@rel/gateway';

/** The API key the load generator sends. */
const BENCH_KEY = 'sk-rel-bench-0123456789';

const mode = process.argv[2];
const upstreamPort = Number(process.argv[3]);
if ((mode !== 'minimal' && mode !== 'full') || !Number.isInteger(upstreamPort))
  throw new Error('usage: gateway-rel.ts <minimal|full> <upstream port>');

const keyHash = hashKey(BENCH_KEY);
const provider = { type: 'openai' as const, baseURL: `http://127.0.0.1:${upstreamPort}/v1`, apiKeyEnv: 'FAKE_API_KEY' };

const minimal: GatewayConfigInput = {
  server: { port: 0 },
  providers: { fake: provider },
  models: { chat: { routes: [{ name: 'primary', provider: 'fake', model: 'gpt-primary' }] } },
  keys: [{ hash: keyHash, org: 'bench', tier: 'pro' }],
  tiers: { pro: {} }, // no limit of any kind
  guardrails: { injection: { policy: 'off' }, pii: { mode: 'off' } },
  telemetry: { jsonLogs: false, prometheus: false },
};

const full: GatewayConfigInput = {
  server: { port: 0 },
  providers: { fake: provider },
  models: {
    chat: {
      routes: [
        { name: 'primary', provider: 'fake', model: 'gpt-primary', contextWindow: 128_000 },
        {
          name: 'backup',
          provider: 'fake',
          model: 'gpt-backup',
          supportsPrefill: true,
          retry: { maxAttempts: 2 },
          breaker: { consecutiveFailures: 3, openMs: 10_000 },
        },
      ],
      timeouts: { totalMs: 30_000 },
      triggers: { contentFiltered: false, rateLimited: { waitUpToMs: 500 } },
      downgradeTo: 'backup',
    },
  },
  defaults: {
    timeouts: { default: { totalMs: 60_000 } },
    attempt: { totalMs: 30_000, firstTokenMs: 5_000, idleMs: 10_000 },
    retry: { maxAttempts: 3, backoff: { type: 'decorrelated', baseMs: 200, capMs: 5_000 }, maxRetryAfterMs: 10_000 },
    breaker: {
      failureRate: { threshold: 0.5, windowMs: 30_000, minimumCalls: 10 },
      openMs: 15_000,
      halfOpen: { maxProbes: 2 },
    },
    retryBudget: { ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 },
  },
  keys: [{ hash: keyHash, org: 'bench', tier: 'pro' }],
  // The example's limits (rpm 600, 50 concurrent) would refuse a load test; raised, but still checked.
  tiers: {
    pro: { rpm: 100_000_000, concurrent: 10_000, spendPerMonthUsd: 1_000_000_000, perUser: { rpm: 100_000_000 } },
  },
  budget: {
    alerts: [0.5, 0.8, 1],
    onCeiling: 'block',
    failMode: { default: 'open', spendPerDayUsd: 'closed', spendPerMonthUsd: 'closed' },
    leaseMs: 600_000,
  },
  prices: {
    'gpt-primary': { inputPerMTok: 2.5, outputPerMTok: 10 },
    'gpt-backup': { inputPerMTok: 2.5, outputPerMTok: 10 },
  },
  defaultPrice: { inputPerMTok: 15, outputPerMTok: 75 },
  guardrails: {
    injection: { policy: 'block', profile: 'default', untrustedProfile: 'strict' },
    pii: { mode: 'tokenize' },
    output: { deny: ['internal use only'], canary: true },
    structured: { maxReasks: 2 },
    caps: { maxTokens: { default: 4096 }, maxToolDepth: 8, maxToolCalls: 32 },
  },
  store: { type: 'memory' },
  telemetry: { serviceName: 'rel-gateway', jsonLogs: true, console: false, prometheus: true },
};

const config = parseConfig(mode === 'minimal' ? minimal : full);
const gateway = createGateway(config, {
  env: { FAKE_API_KEY: 'sk-upstream-unused' },
  // The request log goes where a deployment's stdout would: written and serialized, then dropped
  // (the parent starts this child with stdout ignored).
  logs: process.stdout,
  diagnostics: { write: (line: string) => (line.includes('listening') ? true : process.stderr.write(line)) },
});
const running = await gateway.start();
process.send?.({ port: running.port });

const stop = () => {
  gateway.shutdown().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
