import { Redis } from 'ioredis';

/** A running `monitorNodes`: stop it once the commands of interest have been seen. */
export interface NodeMonitor {
  /** Waits `settleMs` (default 100) for MONITOR lines still on their way, then closes every connection. */
  stop(settleMs?: number): Promise<void>;
}

/**
 * Runs `MONITOR` on every node given (a cluster's masters, say) and reports each command with the
 * port of the node that ran it. MONITOR reports a command once it has run, so its line may follow
 * the reply: `stop()` waits a little before it closes. Feed the lines to `scriptRuns` to read the
 * decisions `RedisStore` sent.
 * @example
 * const monitor = await monitorNodes(redis.nodes, (port, args) => runs.push([port, scriptRuns(args, 'gw:')]));
 * await work();
 * await monitor.stop();
 */
export async function monitorNodes(
  nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>,
  onCommand: (port: number, args: string[]) => void,
): Promise<NodeMonitor> {
  const monitors = await Promise.all(
    nodes.map(async ({ host, port }) => {
      // monitor() opens a connection of its own; the one it was called on is not needed.
      const base = new Redis(port, host, { lazyConnect: true });
      const m = await base.monitor();
      base.disconnect();
      m.on('monitor', (_time: string, args: string[]) => onCommand(port, args));
      return m;
    }),
  );
  return {
    async stop(settleMs = 100) {
      await new Promise((r) => setTimeout(r, settleMs));
      for (const m of monitors) m.disconnect();
    },
  };
}
