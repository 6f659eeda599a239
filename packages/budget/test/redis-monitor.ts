import type { RedisStore } from '@rel/redis';
import { type ScriptRun, scriptRuns } from '@rel/redis/testing';

export type { ScriptRun };

interface MonitorConnection {
  on(event: 'monitor', listener: (time: string, args: string[], source: string) => void): void;
  disconnect(): void;
}

/**
 * Records, through Redis `MONITOR`, every acquire and settle script the server runs, in the order
 * it runs them: the one true serialization of concurrent clients, to check decisions against.
 */
export async function monitorScripts(store: RedisStore, prefix: string) {
  const client = store.client as unknown as { monitor(): Promise<MonitorConnection> };
  const monitor = await client.monitor();
  const runs: ScriptRun[] = [];
  const markers = new Set<string>();
  monitor.on('monitor', (_time, args, source) => {
    if (source === 'lua') return;
    if (String(args[0]).toLowerCase() === 'echo') markers.add(String(args[1]));
    runs.push(...scriptRuns(args, prefix));
  });
  return {
    runs,
    /** Resolves once every command sent before it has been seen. */
    async drain(): Promise<void> {
      const marker = `drain-${Math.random()}`;
      await (store.client as unknown as { echo(m: string): Promise<string> }).echo(marker);
      for (let i = 0; i < 200 && !markers.has(marker); i++) await new Promise((r) => setTimeout(r, 5));
      if (!markers.has(marker)) throw new Error('MONITOR never saw the drain marker');
    },
    stop: () => monitor.disconnect(),
  };
}
