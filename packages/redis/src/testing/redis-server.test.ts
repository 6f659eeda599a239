import { describe, expect, it } from 'vitest';
import { startRedisServer } from './redis-server';

describe('startRedisServer', () => {
  it('rejects at once, naming the fix, when the binary is missing (a failed spawn never emits exit)', async () => {
    await expect(startRedisServer({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      /could not start \/nonexistent\/redis-server.*apt-get install -y redis-server/,
    );
  });
});
