export { RedisStore, RedisStoreOptionsSchema } from './redis-store';
export type { RedisStoreOptions, RedisStoreConfig } from './redis-store';
