export { startRedisServer } from './redis-server';
export type { RedisServerHandle, StartRedisServerOptions } from './redis-server';
export { startRedisCluster } from './redis-cluster';
export type { RedisClusterHandle, RedisClusterNode, StartRedisClusterOptions } from './redis-cluster';
export { monitorNodes } from './monitor-nodes';
export { readyCluster } from './ready-cluster';
export type { NodeMonitor } from './monitor-nodes';
export { scriptRuns } from './script-runs';
export type { ScriptRun } from './script-runs';
