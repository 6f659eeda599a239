import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LuaScript } from './lua-script';
import { type RedisServerHandle, startRedisServer } from './testing/redis-server';

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

const ECHO_KEY = new LuaScript("return { KEYS[1], ARGV[1], redis.call('GET', KEYS[1]) or false }");

describe('LuaScript', () => {
  it('run goes through ioredis auto-pipelining; runNow is on the socket before the turn ends', async () => {
    const client = new Redis(server.url, { enableAutoPipelining: true });
    await client.set('lua:k', 'v');
    const piped = ECHO_KEY.run(client, 1, ['lua:k', 'a']);
    expect(client.autoPipelineQueueSize).toBe(1);
    await piped;
    const direct = ECHO_KEY.runNow(client, 1, ['lua:k', 'b']);
    expect(client.autoPipelineQueueSize).toBe(0);
    expect(await direct).toEqual(['lua:k', 'b', 'v']);
    client.disconnect();
  });

  it("runNow prefixes keys with the client's keyPrefix, as the client's own commands do", async () => {
    const client = new Redis(server.url, { keyPrefix: 'pre:' });
    await client.set('k2', 'prefixed');
    expect(await ECHO_KEY.runNow(client, 1, ['k2', 'x'])).toEqual(['pre:k2', 'x', 'prefixed']);
    client.disconnect();
  });

  it('runNow sends the source again when the server lost it (SCRIPT FLUSH), on the same socket', async () => {
    const client = new Redis(server.url);
    await client.config('RESETSTAT');
    const script = new LuaScript("return 'flushed-' .. ARGV[1]");
    expect(await script.runNow(client, 0, ['1'])).toBe('flushed-1');
    await client.script('FLUSH');
    expect(await script.runNow(client, 0, ['2'])).toBe('flushed-2');
    const info = await client.info('commandstats');
    // EVAL first on the socket, then EVALSHA (NOSCRIPT after the flush), then EVAL again.
    expect(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1]).toBe('2');
    expect(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1]).toBe('1');
    client.disconnect();
  });

  it('runNow rejects with the script error unchanged', async () => {
    const client = new Redis(server.url);
    const failing = new LuaScript("return redis.error_reply('BOOM ' .. ARGV[1])");
    await expect(failing.runNow(client, 0, ['now'])).rejects.toThrow('BOOM now');
    client.disconnect();
  });
});
