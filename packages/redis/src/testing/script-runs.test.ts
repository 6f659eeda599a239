import { RedisStore } from '@rel/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from './redis-server';
import { type ScriptRun, scriptRuns } from './script-runs';

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());

interface MonitorConnection {
  on(event: 'monitor', listener: (time: string, args: string[], source: string) => void): void;
  disconnect(): void;
}

/** Runs `work` on a store while MONITOR records the scripts Redis runs. */
async function observe(batchAcquire: boolean, work: (store: RedisStore) => Promise<unknown>): Promise<ScriptRun[]> {
  const prefix = `sr${batchAcquire ? 'b' : 's'}:`;
  const store = new RedisStore({ url: server.url, keyPrefix: prefix, batchAcquire });
  const monitor = await (store.client as unknown as { monitor(): Promise<MonitorConnection> }).monitor();
  const runs: ScriptRun[] = [];
  const seen = new Set<string>();
  monitor.on('monitor', (_t, args, source) => {
    if (source === 'lua') return;
    if (String(args[0]).toLowerCase() === 'echo') seen.add(String(args[1]));
    runs.push(...scriptRuns(args, prefix));
  });
  await work(store);
  await (store.client as unknown as { echo(m: string): Promise<string> }).echo('done');
  for (let i = 0; i < 200 && !seen.has('done'); i++) await new Promise((r) => setTimeout(r, 5));
  monitor.disconnect();
  await store.close();
  return runs;
}

const rate = (key: string, cost = 1) => ({ type: 'rate' as const, key, limit: 10, periodMs: 1_000, cost });
const quota = (key: string, leaseId: string) => ({
  type: 'quota' as const,
  key,
  limit: 100,
  windowMs: 60_000,
  cost: 7,
  lease: { id: leaseId, ttlMs: 5_000 },
});

describe('scriptRuns', () => {
  it.each([false, true])('reads back every decision and settlement in order (batchAcquire %s)', async (batch) => {
    const runs = await observe(batch, async (store) => {
      await Promise.all([
        store.acquire([rate('{u}:a'), quota('{u}:b', 'lease,with,commas')]),
        store.acquire([rate('{v}:c', 3)]),
      ]);
      await store.settle('lease,with,commas', [{ key: '{u}:b', amount: 5, windowMs: 60_000 }]);
    });
    expect(runs).toEqual([
      {
        type: 'acquire',
        ops: [
          { key: '{u}:a', kind: 'r', limit: 10, cost: 1, leaseId: '' },
          { key: '{u}:b', kind: 'q', limit: 100, cost: 7, leaseId: 'lease,with,commas' },
        ],
      },
      { type: 'acquire', ops: [{ key: '{v}:c', kind: 'r', limit: 10, cost: 3, leaseId: '' }] },
      { type: 'settle', leaseId: 'lease,with,commas', retry: false, entries: [{ key: '{u}:b', amount: 5 }] },
    ]);
  });

  it('ignores every other command', () => {
    expect(scriptRuns(['get', 'x'], '')).toEqual([]);
    expect(scriptRuns(['evalsha', 'not-a-rel-script', '0'], '')).toEqual([]);
  });
});
