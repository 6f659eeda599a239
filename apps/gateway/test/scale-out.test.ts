import { startRedisCluster, startRedisServer } from '@rel/redis/testing';
import { FakeProvider } from '@rel/testing';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../src/auth';
import { type GatewayProcess, spawnGateway, writeConfig } from './child-process';
import { KEYS, testConfig } from './helpers';

const SPENDER = 'sk-test-spender-0123456789';
const ADMIN_KEY = 'admin-key-for-scale-out-0123456789';
const fake = new FakeProvider();
let baseURL = '';
let closeFake: () => Promise<void> = async () => {};
// The processes of the backend under test (each describe below starts its own).
let gateways: GatewayProcess[] = [];
let urls: string[] = [];

beforeAll(async () => {
  const server = await fake.listen();
  baseURL = server.baseURL;
  closeFake = server.close;
});
afterAll(async () => {
  await closeFake();
});

/** Starts two gateway processes on one store; `REDIS_URL` holds what `store.urlEnv` names. */
async function startGateways(redisUrl: string, cluster: boolean): Promise<void> {
  const base = testConfig(baseURL);
  const config = {
    ...base,
    // A short refresh, so a feature mode forced on one process reaches the other within the test.
    store: { type: 'redis', urlEnv: 'REDIS_URL', keyPrefix: 'scale-test:', featureModesRefreshMs: 50, cluster },
    features: {
      suggestions: { critical: false, degraded: 'No suggestions right now.' },
      answers: { critical: true, safeDefault: { text: 'Please try again later.' } },
    },
    keys: [...(base.keys ?? []), { hash: hashKey(SPENDER), org: 'spender', tier: 'pro' }],
    // $1 per output token; input is free, so a 5-token answer costs exactly $5 (and reserves $5)
    prices: { 'gpt-primary': { inputPerMTok: 0, outputPerMTok: 1_000_000 } },
    orgs: { spender: { spendPerDayUsd: 12 } },
    admin: { keyEnv: 'REL_ADMIN_KEY' },
  };
  const file = writeConfig(config);
  const env = { REDIS_URL: redisUrl, FAKE_API_KEY: 'sk-upstream', REL_ADMIN_KEY: ADMIN_KEY };
  gateways = [spawnGateway(file, env), spawnGateway(file, env)];
  urls = await Promise.all(gateways.map((g) => g.listening));
}

async function stopGateways(): Promise<void> {
  for (const g of gateways) g.child.kill('SIGTERM');
  await Promise.all(gateways.map((g) => g.exited));
}

const adminHeaders = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const get = (url: string, path: string) => fetch(`${url}${path}`, { headers: adminHeaders });
const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, { method: 'POST', headers: adminHeaders, body: JSON.stringify(body) });

/** Polls `check` (every 20 ms) until it holds or `deadlineMs` has passed; true when it held. */
async function until(check: () => Promise<boolean>, deadlineMs = 5_000): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

const clients = (key: string) => urls.map((u) => new OpenAI({ baseURL: `${u}/v1`, apiKey: key, maxRetries: 0 }));

async function alternate(key: string, n: number, body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming) {
  const cs = clients(key);
  const out: (number | 'ok')[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await cs[i % cs.length]?.chat.completions.create(body);
      out.push('ok');
    } catch (error) {
      if (!(error instanceof OpenAI.APIError)) throw error;
      out.push(error.status ?? 0);
    }
  }
  return out;
}

const BACKENDS = [
  {
    name: 'one Redis',
    start: async () => {
      const redis = await startRedisServer();
      return { url: redis.url, cluster: false, stop: () => redis.stop() };
    },
  },
  {
    // Org and user keys carry their hash tag: each decision stays in one slot, the orgs spread over the masters.
    name: 'a 3-master Redis Cluster (store.cluster, seed URLs comma-separated)',
    start: async () => {
      const redis = await startRedisCluster();
      const url = redis.nodes.map((n) => `redis://${n.host}:${n.port}`).join(',');
      return { url, cluster: true, stop: () => redis.stop(), nodes: redis.nodes };
    },
  },
];

describe.each(BACKENDS)('two gateway processes sharing $name', ({ start, name }) => {
  let stopRedis: () => Promise<void> = async () => {};
  let clusterNodes: unknown;
  beforeAll(async () => {
    const redis = await start();
    stopRedis = redis.stop;
    clusterNodes = 'nodes' in redis ? redis.nodes : undefined;
    await startGateways(redis.url, redis.cluster);
  }, 60_000);
  afterAll(async () => {
    await stopGateways();
    await stopRedis();
  });

  it("hold an org's rate limit across both processes", async () => {
    // tier free: 3 requests per minute for org tiny, whichever process serves them
    const results = await alternate(KEYS.tiny, 6, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(results).toEqual(['ok', 'ok', 'ok', 429, 429, 429]);
  });

  it("hold an org's spend ceiling across both processes", async () => {
    // $12 a day: two $5 answers fit, the third would pass the ceiling on either process
    const results = await alternate(SPENDER, 6, {
      model: 'chat',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
    });
    expect(results).toEqual(['ok', 'ok', 429, 429, 429, 429]);
    const e = await clients(SPENDER)[1]
      ?.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })
      .catch((error: unknown) => error);
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect((e as InstanceType<typeof OpenAI.APIError>).type).toBe('quota_exceeded');
  });

  it('share a breaker forced open through the admin API of one process: the other skips the route too', async () => {
    const admin = (url: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then((r) => r.json() as Promise<{ breakers: { alias: string; target: string; state: string }[] }>);
    const [a = '', b = ''] = urls;
    await admin(a, '/admin/breakers/chat/primary', { action: 'open' });
    const seen = await admin(b, '/admin/state');
    expect(seen.breakers).toContainEqual({ alias: 'chat', target: 'primary', state: 'open', forced: true });
    const before = fake.attemptsFor('gpt-primary').length;
    const res = await clients(KEYS.acme)[1]?.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res?.model).toMatch(/^gpt-backup/);
    expect(fake.attemptsFor('gpt-primary').length).toBe(before);
    await admin(b, '/admin/breakers/chat/primary', { action: 'reset' });
    const after = await admin(a, '/admin/state');
    expect(after.breakers).toContainEqual({ alias: 'chat', target: 'primary', state: 'closed', forced: false });
  });

  it('share a feature forced degraded through one process: the other answers its degraded text within the refresh interval', async () => {
    const [a = '', b = ''] = urls;
    const [clientA, clientB] = clients(KEYS.acme);
    const ask = async (client: OpenAI | undefined) =>
      (
        await client?.chat.completions.create(
          { model: 'chat', messages: [{ role: 'user', content: 'hi' }] },
          { headers: { 'x-rel-feature': 'suggestions' } },
        )
      )?.choices[0]?.message.content;
    expect(await ask(clientB)).not.toBe('No suggestions right now.');

    const set = await post(a, '/admin/features/suggestions', { mode: 'degraded' });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ name: 'suggestions', critical: false, mode: 'degraded', answer: 'degraded' });
    // B learns it from the store on its own refresh (no admin call to B in between)
    expect(await until(async () => (await ask(clientB)) === 'No suggestions right now.')).toBe(true);
    const before = fake.attempts.length;
    expect(await ask(clientB)).toBe('No suggestions right now.');
    expect(fake.attempts.length).toBe(before);
    const state = (await (await get(b, '/admin/state')).json()) as { features: unknown[] };
    expect(state.features).toContainEqual({
      name: 'suggestions',
      critical: false,
      mode: 'degraded',
      answer: 'degraded',
    });

    // back to normal through B: A calls the route again
    expect((await post(b, '/admin/features/suggestions', { mode: 'normal' })).status).toBe(200);
    expect(await until(async () => (await ask(clientA)) !== 'No suggestions right now.')).toBe(true);
    expect(fake.attempts.length).toBeGreaterThan(before);
  });

  it('GET /admin/state on one process shows a feature mode just set through the other, and both writes of a race land', async () => {
    const [a = '', b = ''] = urls;
    const [one, two] = await Promise.all([
      post(a, '/admin/features/answers', { mode: 'degraded' }),
      post(b, '/admin/features/suggestions', { mode: 'degraded' }),
    ]);
    expect([one.status, two.status]).toEqual([200, 200]);
    for (const url of [a, b]) {
      const state = (await (await get(url, '/admin/state')).json()) as { features: { name: string; mode: string }[] };
      expect(state.features.map((f) => [f.name, f.mode])).toEqual([
        ['suggestions', 'degraded'],
        ['answers', 'degraded'],
      ]);
    }
    for (const name of ['answers', 'suggestions'])
      expect((await post(a, `/admin/features/${name}`, { mode: 'normal' })).status).toBe(200);
  });

  it('report ready while Redis answers', async () => {
    for (const u of urls) expect((await fetch(`${u}/readyz`)).status).toBe(200);
  });

  if (name.includes('Cluster')) {
    it("keep each org's keys on one master and spread the orgs over several", async () => {
      const nodes = clusterNodes as ReadonlyArray<{ host: string; port: number }>;
      const holders = new Map<string, Set<number>>();
      for (const { host, port } of nodes) {
        const node = new Redis(port, host);
        for (const key of (await node.keys('scale-test:*')) as string[]) {
          const tag = /\{[^}]*\}/.exec(key)?.[0] ?? key;
          holders.set(tag, (holders.get(tag) ?? new Set()).add(port));
        }
        node.disconnect();
      }
      expect([...holders.keys()]).toEqual(expect.arrayContaining(['{org:tiny}', '{org:spender}']));
      for (const [tag, ports] of holders) expect(ports.size, tag).toBe(1);
      expect(new Set([...holders.values()].flatMap((p) => [...p])).size).toBeGreaterThan(1);
    });
  }
});
