/**
 * Drives N chat completions through an in-process gateway (createGateway, fake provider over
 * loopback) for a CPU profile:
 *   node --conditions=@rel/source --import tsx --cpu-prof --cpu-prof-dir=/tmp/rel-prof scripts/profile-requests.ts [N]
 * then summarize with `node scripts/summarize-profile.mjs /tmp/rel-prof/<file>.cpuprofile`.
 */
import { FakeProvider } from '@rel/testing';
import { createGateway } from '../src/app';
import { hashKey } from '../src/auth';
import { parseConfig } from '../src/config';

const N = Number(process.argv[2] ?? 2_000);
const CONCURRENCY = 8;
const KEY = 'sk-profile-0123456789';

const fake = new FakeProvider();
fake.model('gpt-primary', { latencyMs: 0, outputTokens: 24 });
const upstream = await fake.listen();
const gateway = createGateway(
  parseConfig({
    server: { port: 0 },
    providers: { fake: { type: 'openai', baseURL: upstream.baseURL, apiKeyEnv: 'FAKE_API_KEY' } },
    models: { chat: { routes: [{ name: 'primary', provider: 'fake', model: 'gpt-primary' }] } },
    keys: [{ hash: hashKey(KEY), org: 'acme', tier: 'pro' }],
    tiers: { pro: { rpm: 1_000_000, spendPerDayUsd: 1_000_000 } },
    telemetry: { jsonLogs: true, prometheus: true },
  }),
  { env: { FAKE_API_KEY: 'sk-upstream' }, logs: { write: () => true }, diagnostics: { write: () => true } },
);
await gateway.start();
const body = JSON.stringify({
  model: 'chat',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Write two sentences about the sea, please, and mention the weather.' },
  ],
  max_tokens: 64,
});
const one = async () => {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body,
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
};
for (let i = 0; i < 50; i++) await one(); // warm-up
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < N) await one();
  }),
);
const ms = performance.now() - started;
process.stderr.write(`${N} requests in ${ms.toFixed(0)} ms (${((ms / N) * 1000).toFixed(0)} µs each, wall)\n`);
await gateway.shutdown();
await upstream.close();
