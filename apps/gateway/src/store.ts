import { type Clock, MemoryStore, type StateStore } from '@rel/core';
import { RedisStore } from '@rel/redis';
import type { GatewayConfig } from './config';
import { ConfigError } from './config';

/**
 * The shared-state store of a gateway: an in-process `MemoryStore` (one process), or a
 * `RedisStore` whose URL comes from the environment variable the config names (several processes
 * then share rate limits, budgets, retry budget and breaker state).
 * @throws ConfigError when the Redis URL variable is unset.
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
  return new RedisStore({ url, keyPrefix: config.keyPrefix, commandTimeoutMs: config.commandTimeoutMs });
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
