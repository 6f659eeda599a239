import { type Clock, MemoryStore, type StateStore } from '@rel/core';
import { RedisStore } from '@rel/redis';
import { z } from 'zod';
import type { GatewayConfig } from './config';
import { ConfigError } from './config';

/**
 * The shared-state store of a gateway: an in-process `MemoryStore` (one process), or a
 * `RedisStore` whose URL comes from the environment variable the config names (several processes
 * then share rate limits, budgets, retry budget and breaker state), on one Redis or, with
 * `cluster`, a Redis Cluster.
 * @throws ConfigError naming `store.urlEnv` when its variable is unset or holds a URL that is not `redis://` or `rediss://`.
 * @example const store = createStore({ type: 'redis', urlEnv: 'REDIS_URL', ... }, process.env);
 */
export function createStore(
  config: GatewayConfig['store'],
  env: Record<string, string | undefined>,
  clock?: Clock,
): StateStore {
  if (config.type === 'memory') return new MemoryStore({ maxKeys: config.maxKeys, ...(clock ? { clock } : {}) });
  const url = env[config.urlEnv];
  if (!url) throw new ConfigError('<environment>', [`store.urlEnv: environment variable ${config.urlEnv} is not set`]);
  const { keyPrefix, commandTimeoutMs } = config;
  try {
    return config.cluster
      ? new RedisStore({ clusterNodes: url.split(',').map((u) => u.trim()), keyPrefix, commandTimeoutMs })
      : new RedisStore({ url, keyPrefix, commandTimeoutMs });
  } catch (error) {
    // RedisStore checks the URLs; the operator set them through the variable the config names.
    if (error instanceof z.ZodError && error.issues.some((i) => i.path[0] === 'url' || i.path[0] === 'clusterNodes'))
      throw new ConfigError('<environment>', [
        config.cluster
          ? `store.urlEnv: ${config.urlEnv} must hold comma-separated redis:// or rediss:// URLs of cluster nodes`
          : `store.urlEnv: ${config.urlEnv} must hold a redis:// or rediss:// URL`,
      ]);
    throw error;
  }
}

/** True when the store answers a read within its own command timeout. */
export async function storeReady(store: StateStore): Promise<boolean> {
  try {
    await store.get('rel:gateway:ready');
    return true;
  } catch {
    return false;
  }
}
