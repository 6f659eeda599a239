export { startRedisServer } from './redis-server';
export type { RedisServerHandle, StartRedisServerOptions } from './redis-server';
export { scriptRuns } from './script-runs';
export type { ScriptRun } from './script-runs';
