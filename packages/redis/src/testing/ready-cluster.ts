import { Cluster, type ClusterOptions } from 'ioredis';

/**
 * A `Cluster` client on `nodes` (a test cluster's, say), resolved once it has loaded the slot map;
 * rejects with its first error before that. Errors after it is ready go to its `error` listeners
 * (add one: ioredis reports a lost node there too, while each command that needed it rejects).
 * @example
 * const cluster = await readyCluster(redis.nodes, { enableOfflineQueue: false });
 */
export function readyCluster(
  nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>,
  options: ClusterOptions = {},
): Promise<Cluster> {
  const cluster = new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    options,
  );
  return new Promise((resolve, reject) => {
    const failed = (error: unknown) => {
      cluster.disconnect();
      reject(error);
    };
    cluster.once('error', failed);
    cluster.once('ready', () => {
      cluster.off('error', failed);
      resolve(cluster);
    });
  });
}
