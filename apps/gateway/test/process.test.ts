import { FakeProvider } from '@rel/testing';
import OpenAI from 'openai';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, writeConfig } from './child-process';
import { KEYS, testConfig } from './helpers';

const fake = new FakeProvider();
let baseURL = '';
let closeFake: () => Promise<void> = async () => {};
beforeAll(async () => {
  const server = await fake.listen();
  baseURL = server.baseURL;
  closeFake = server.close;
});
afterAll(() => closeFake());

describe('the rel-gateway process', () => {
  it('on SIGTERM refuses new connections, finishes the in-flight stream, and exits 0', async () => {
    fake.model('gpt-primary', { chunkDelayMs: 25, outputTokens: 40 }); // about one second of stream
    // generous limits: this proves draining, not speed, and the machine may be busy
    const base = testConfig(baseURL);
    const config = {
      ...base,
      server: { ...base.server, shutdownGraceMs: 30_000 },
      defaults: { ...base.defaults, attempt: { totalMs: 30_000, firstTokenMs: 10_000, idleMs: 10_000 } },
    };
    const gw = spawnGateway(writeConfig(config), { FAKE_API_KEY: 'sk-upstream' });
    try {
      const url = await gw.listening;
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: 'A long story, please.' }],
        stream: true,
      });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      gw.child.kill('SIGTERM');

      // new connections are refused while the stream goes on
      let refused = false;
      for (let i = 0; i < 250 && !refused; i++) {
        refused = await fetch(`${url}/healthz`).then(
          () => false,
          (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED',
        );
        if (!refused) await new Promise((r) => setTimeout(r, 20));
      }
      expect(refused).toBe(true);

      let finish: string | null | undefined;
      let text = '';
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
        text += r.value.choices[0]?.delta.content ?? '';
        finish = r.value.choices[0]?.finish_reason ?? finish;
      }
      expect(finish).toBe('stop');
      expect(text.split(' ').length).toBeGreaterThan(10);
      expect(await gw.exited).toBe(0);
      expect(gw.stdout.some((l) => l.includes('"rel.gateway.stopped"'))).toBe(true);
    } finally {
      fake.reset();
      gw.child.kill('SIGKILL');
    }
  });

  it('exits non-zero on a bad config file, naming every bad field', async () => {
    const file = writeConfig(
      [
        'server: { port: -1 }',
        'providers: { fake: { type: grpc, baseURL: "http://x/v1" } }',
        'models: { chat: { routes: [] } }',
        'guardrails: { pii: { mode: shred } }',
      ].join('\n'),
      'bad.yaml',
    );
    const gw = spawnGateway(file);
    expect(await gw.exited).toBe(1);
    const err = gw.stderr.join('');
    expect(err).toContain('bad.yaml');
    for (const field of ['server.port', 'providers.fake.type', 'models.chat.routes', 'guardrails.pii.mode']) {
      expect(err).toContain(field);
    }
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('on SIGHUP re-reads its config file: a new route order serves new requests, a bad file keeps the running one', async () => {
    const base = testConfig(baseURL);
    const routes = base.models.chat?.routes ?? [];
    const withChat = (r: typeof routes) => ({ ...base, models: { ...base.models, chat: { routes: r } } });
    const file = writeConfig(withChat(routes));
    const gw = spawnGateway(file, { FAKE_API_KEY: 'sk-upstream' });
    /** Sends SIGHUP and waits for the log line of its outcome. */
    const hup = async (event: string) => {
      const seen = gw.stdout.length;
      gw.child.kill('SIGHUP');
      for (let i = 0; i < 1_000; i++) {
        const line = gw.stdout.slice(seen).find((l) => l.includes(`"${event}"`));
        if (line) return JSON.parse(line) as Record<string, unknown>;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no ${event} after SIGHUP: ${gw.stdout.slice(seen).join('\n')}`);
    };
    try {
      const url = await gw.listening;
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
      const ask = () => client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
      expect((await ask()).model).toMatch(/^gpt-primary/);

      writeFileSync(file, JSON.stringify(withChat([...routes].reverse())));
      expect(await hup('rel.gateway.reloaded')).toEqual(expect.objectContaining({ version: 2 }));
      expect((await ask()).model).toMatch(/^gpt-backup/);

      const bad = { ...withChat(routes), tiers: { pro: { rpm: 'many' }, free: { rpm: 3 } } };
      writeFileSync(file, JSON.stringify({ ...bad, defaults: { ...base.defaults, retry: { maxAttempts: 0 } } }));
      const failed = await hup('rel.gateway.reload_failed');
      expect(failed.issues).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^tiers\.pro\.rpm/),
          expect.stringMatching(/^defaults\.retry\.maxAttempts/),
        ]),
      );
      expect((await ask()).model).toMatch(/^gpt-backup/);
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    } finally {
      gw.child.kill('SIGKILL');
    }
  });
});
