import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../src/config';
import { createStore } from '../src/store';
import { testConfig } from './helpers';

function issuesOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('loads the complete example file', () => {
    const config = loadConfig(new URL('../gateway.example.yaml', import.meta.url).pathname);
    expect(Object.keys(config.models)).toEqual(['chat', 'cheap']);
    expect(config.guardrails.pii.mode).toBe('tokenize');
    expect(config.store.type).toBe('memory');
  });

  it('names every bad field by its path, not only the first', () => {
    const input = testConfig('http://127.0.0.1:1/v1') as Record<string, unknown>;
    const issues = issuesOf({
      ...input,
      server: { port: 'eighty' },
      providers: { fake: { type: 'openai', baseURL: 'not a url', apiKey: 'sk-in-the-file' } },
      models: {
        chat: {
          routes: [{ provider: 'nowhere', model: 'm', retry: { maxAttempts: 0 } }],
          largerContext: 'ghost',
        },
      },
      tiers: { pro: { rpm: -1 } },
      orgs: { acme: { tier: 'gold' } },
    });
    const text = issues.join('\n');
    expect(text).toMatch(/server\.port/);
    expect(text).toMatch(/providers\.fake\.baseURL/);
    expect(text).toMatch(/providers\.fake: unknown field apiKey/);
    expect(text).toMatch(/models\.chat\.routes\.0\.retry\.maxAttempts/);
    expect(text).toMatch(/tiers\.pro\.rpm/);
  });

  it('checks references between sections once the shapes are valid', () => {
    const input = testConfig('http://127.0.0.1:1/v1') as Record<string, unknown>;
    const issues = issuesOf({
      ...input,
      models: { chat: { routes: [{ provider: 'nowhere', model: 'm' }], largerContext: 'ghost' } },
      keys: [{ hash: `sha256:${'a'.repeat(64)}`, org: 'acme', tier: 'gold', models: ['chat', 'nope'] }],
      orgs: { acme: { tier: 'platinum' } },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'models.chat.routes.0.provider: unknown provider "nowhere"',
        'models.chat.largerContext: no route named "ghost"',
        'keys.0.tier: unknown tier "gold"',
        'keys.0.models.1: unknown model alias "nope"',
        'orgs.acme.tier: unknown tier "platinum"',
      ]),
    );
  });

  it('refuses a key in clear and a store URL in the file', () => {
    const input = testConfig('http://127.0.0.1:1/v1') as Record<string, unknown>;
    const issues = issuesOf({
      ...input,
      keys: [{ hash: 'sk-live-123', org: 'acme', tier: 'pro' }],
      store: { type: 'redis', url: 'redis://:password@host' },
    });
    expect(issues.join('\n')).toMatch(/keys\.0\.hash: sha256:<64/);
    expect(issues.join('\n')).toMatch(/store: unknown field url/);
  });

  it('validates store.featureModesRefreshMs (Redis only, default 1000) and names it when bad', () => {
    const input = testConfig('http://127.0.0.1:1/v1') as Record<string, unknown>;
    const redis = parseConfig({ ...input, store: { type: 'redis' } });
    expect(redis.store.type === 'redis' && redis.store.featureModesRefreshMs).toBe(1_000);
    for (const bad of [0, -5, 1.5, 'soon']) {
      const issues = issuesOf({ ...input, store: { type: 'redis', featureModesRefreshMs: bad } });
      expect(issues.join('\n')).toMatch(/^store\.featureModesRefreshMs: /m);
    }
    const memory = issuesOf({ ...input, store: { type: 'memory', featureModesRefreshMs: 500 } });
    expect(memory.join('\n')).toMatch(/store: unknown field featureModesRefreshMs/);
  });

  it('fails at start naming store.urlEnv when the Redis URL variable is unset or holds a URL that is not redis:// (one, or each of a cluster)', () => {
    const input = testConfig('http://127.0.0.1:1/v1') as Record<string, unknown>;
    const storeIssues = (store: unknown, env: Record<string, string>) => {
      try {
        createStore(parseConfig({ ...input, store }).store, env).close();
      } catch (error) {
        if (error instanceof ConfigError) return error.issues.join('\n');
        throw error;
      }
      throw new Error('expected a ConfigError');
    };
    expect(storeIssues({ type: 'redis' }, {})).toMatch(/^store\.urlEnv: environment variable REDIS_URL is not set/);
    expect(storeIssues({ type: 'redis', cluster: true, urlEnv: 'NODES' }, {})).toMatch(/NODES is not set/);
    for (const bad of ['http://127.0.0.1:6379', 'localhost:6379'])
      expect(storeIssues({ type: 'redis' }, { REDIS_URL: bad })).toMatch(
        /^store\.urlEnv: REDIS_URL must hold a redis:\/\/ or rediss:\/\/ URL/,
      );
    for (const bad of ['redis://127.0.0.1:7000,http://127.0.0.1:7001', 'redis://127.0.0.1:7000, not a url'])
      expect(storeIssues({ type: 'redis', cluster: true, urlEnv: 'NODES' }, { NODES: bad })).toMatch(
        /^store\.urlEnv: NODES must hold comma-separated redis:\/\/ or rediss:\/\/ URLs of cluster nodes/,
      );
    expect(issuesOf({ ...input, store: { type: 'redis', cluster: 'yes' } }).join('\n')).toMatch(/^store\.cluster: /m);
  });

  it('reports an unreadable or unparsable file as a ConfigError naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rel-gw-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ not json');
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml/);
  });
});
