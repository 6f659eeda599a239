import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, type Stack, startStack } from './helpers';

const ADMIN_KEY = 'admin-key-for-tests-0123456789';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(
    {
      admin: { keyEnv: 'REL_ADMIN_KEY' },
      features: {
        suggestions: { critical: false, degraded: 'No suggestions right now.' },
        answers: { critical: true, safeDefault: { text: 'Please try again later.' } },
        plain: { critical: true },
      },
    },
    { env: { REL_ADMIN_KEY: ADMIN_KEY } },
  );
});
afterAll(() => stack.close());

const admin = (path: string, init: { method?: string; body?: unknown; key?: string | null } = {}) =>
  fetch(`${stack.gateway.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.key === null ? {} : { authorization: `Bearer ${init.key ?? ADMIN_KEY}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read in assertions
const json = async (res: Response): Promise<any> => res.json();

const ask = (feature?: string) =>
  stack
    .client()
    .chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: 'Hi' }] },
      feature ? { headers: { 'x-rel-feature': feature } } : {},
    );

describe('admin API', () => {
  it('answers 401 without a key and 403 for a wrong key or an API key, and never logs the admin key', async () => {
    expect((await admin('/admin/state', { key: null })).status).toBe(401);
    expect((await admin('/admin/state', { key: 'not-the-admin-key-0000000' })).status).toBe(403);
    const withApiKey = await admin('/admin/breakers/chat/primary', { key: KEYS.acme, body: { action: 'open' } });
    expect(withApiKey.status).toBe(403);
    expect((await json(withApiKey)).error.type).toBe('unauthorized');
    expect((await admin('/admin/state')).status).toBe(200);
    expect(stack.logs.some((l) => l.includes('"rel.gateway.admin"'))).toBe(true);
    expect(stack.logs.join('\n')).not.toContain(ADMIN_KEY);
  });

  it('GET /admin/state lists every breaker by alias and target, every feature with its mode, and the config version', async () => {
    const state = await json(await admin('/admin/state'));
    expect(state.config).toEqual(expect.objectContaining({ version: 1, hash: expect.stringMatching(/^sha256:/) }));
    expect(state.breakers).toEqual(
      expect.arrayContaining([
        { alias: 'chat', target: 'primary', state: 'closed', forced: false },
        { alias: 'chat', target: 'backup', state: 'closed', forced: false },
        { alias: 'fast', target: 'fast-primary', state: 'closed', forced: false },
      ]),
    );
    expect(state.features).toEqual([
      { name: 'suggestions', critical: false, mode: 'normal', answer: 'degraded' },
      { name: 'answers', critical: true, mode: 'normal', answer: 'safe_default' },
      { name: 'plain', critical: true, mode: 'normal', answer: null },
    ]);
  });

  it('forcing a breaker open sends traffic to the fallback without calling the route, until it is reset', async () => {
    const opened = await admin('/admin/breakers/chat/primary', { body: { action: 'open' } });
    expect(await opened.json()).toEqual({ alias: 'chat', target: 'primary', state: 'open', forced: true });
    const before = stack.fake.attemptsFor('gpt-primary').length;
    const res = await ask();
    expect(res.model).toMatch(/^gpt-backup/);
    expect(stack.fake.attemptsFor('gpt-primary').length).toBe(before);

    const reset = await admin('/admin/breakers/chat/primary', { body: { action: 'reset' } });
    expect(await reset.json()).toEqual({ alias: 'chat', target: 'primary', state: 'closed', forced: false });
    expect((await ask()).model).toMatch(/^gpt-primary/);
  });

  it('forcing a breaker closed keeps the route in use, and the breaker reports forced', async () => {
    const closed = await admin(`/admin/breakers/chat/${encodeURIComponent('backup')}`, { body: { action: 'close' } });
    expect(await closed.json()).toEqual({ alias: 'chat', target: 'backup', state: 'closed', forced: true });
    await admin('/admin/breakers/chat/backup', { body: { action: 'reset' } });
  });

  it('refuses unknown aliases and routes (404) and bad bodies (400) naming the field', async () => {
    expect((await admin('/admin/breakers/nope/primary', { body: { action: 'open' } })).status).toBe(404);
    expect((await admin('/admin/breakers/chat/nope', { body: { action: 'open' } })).status).toBe(404);
    const bad = await admin('/admin/breakers/chat/primary', { body: { action: 'explode' } });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.param).toBe('action');
    expect((await admin('/admin/features/nope', { body: { mode: 'degraded' } })).status).toBe(404);
    expect((await admin('/admin/features/plain', { body: { mode: 'degraded' } })).status).toBe(409);
    expect((await admin('/admin/nothing-here')).status).toBe(404);
  });

  it('forcing a feature degraded answers its static text without calling any route, streams included, until normal', async () => {
    const set = await admin('/admin/features/suggestions', { body: { mode: 'degraded' } });
    expect(await set.json()).toEqual({ name: 'suggestions', critical: false, mode: 'degraded', answer: 'degraded' });
    const before = stack.fake.attempts.length;
    const reasons: string[] = [];
    const off = stack.gateway.hub.on('degraded', (e) => reasons.push(e.reason));
    const res = await ask('suggestions');
    off();
    expect(reasons).toEqual(['forced']);
    expect(res.model).toBe('rel-degraded');
    expect(res.choices[0]?.message.content).toBe('No suggestions right now.');
    const stream = await stack
      .client()
      .chat.completions.create(
        { model: 'chat', messages: [{ role: 'user', content: 'Hi' }], stream: true },
        { headers: { 'x-rel-feature': 'suggestions' } },
      );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('No suggestions right now.');
    // other features are untouched
    expect((await ask()).model).toMatch(/^gpt-primary/);
    expect(stack.fake.attempts.length).toBe(before + 1);

    const degradations = stack.logs.filter((l) => l.includes('"rel.request"') && l.includes('"rel.degraded":true'));
    expect(degradations.length).toBeGreaterThanOrEqual(2);

    await admin('/admin/features/suggestions', { body: { mode: 'normal' } });
    expect((await ask('suggestions')).model).toMatch(/^gpt-primary/);
  });

  it('a critical feature with only a safe default is forced to it', async () => {
    await admin('/admin/features/answers', { body: { mode: 'degraded' } });
    const res = await ask('answers');
    expect(res.choices[0]?.message.content).toBe('Please try again later.');
    const state = await json(await admin('/admin/state'));
    expect(state.features).toContainEqual({
      name: 'answers',
      critical: true,
      mode: 'degraded',
      answer: 'safe_default',
    });
    await admin('/admin/features/answers', { body: { mode: 'normal' } });
  });
});

describe('admin API switched off', () => {
  it('answers 404 on /admin/ when no admin key is configured, or its variable is unset', async () => {
    const plain = await startStack();
    const unset = await startStack({ admin: { keyEnv: 'REL_ADMIN_KEY' } });
    try {
      for (const s of [plain, unset]) {
        const res = await fetch(`${s.gateway.url}/admin/state`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        expect(res.status).toBe(404);
      }
      expect(unset.logs.some((l) => l.includes('"rel.gateway.admin_disabled"'))).toBe(true);
    } finally {
      await Promise.all([plain.close(), unset.close()]);
    }
  });

  it('an OpenAI client sees no admin route under /v1', async () => {
    const e = await plainModelsWithAdminKey();
    expect(e).toBe(401);
  });
});

async function plainModelsWithAdminKey(): Promise<number> {
  const client = new OpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: ADMIN_KEY, maxRetries: 0 });
  try {
    await client.models.list();
    return 200;
  } catch (error) {
    return (error as InstanceType<typeof OpenAI.APIError>).status ?? 0;
  }
}
