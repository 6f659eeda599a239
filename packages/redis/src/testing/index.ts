export { startRedisServer } from './redis-server';
export type { RedisServerHandle, StartRedisServerOptions } from './redis-server';
