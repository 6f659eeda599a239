import type { RedisStore } from '@rel/redis';

/** One `relAcquire` / `relSettle` script run, as Redis executed it (keys without the store prefix). */
export type ScriptRun =
  | {
      readonly type: 'acquire';
      readonly ops: ReadonlyArray<{ key: string; kind: string; limit: number; cost: number; leaseId: string }>;
    }
  | {
      readonly type: 'settle';
      readonly leaseId: string;
      readonly retry: boolean;
      readonly entries: ReadonlyArray<{ key: string; amount: number }>;
    };

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
    const cmd = String(args[0]).toLowerCase();
    if (cmd === 'echo') markers.add(String(args[1]));
    if (cmd !== 'evalsha' && cmd !== 'eval') return;
    const n = Number(args[2]);
    const keys = args.slice(3, 3 + n).map((k) => k.slice(prefix.length));
    const argv = args.slice(3 + n);
    if (argv.length === 1 + 7 * n) {
      runs.push({
        type: 'acquire',
        ops: keys.map((key, i) => ({
          key,
          kind: String(argv[1 + i * 7]),
          limit: Number(argv[2 + i * 7]),
          cost: Number(argv[5 + i * 7]),
          leaseId: String(argv[6 + i * 7]),
        })),
      });
    } else if (argv.length === 4 + 2 * (n - 1)) {
      // Settle: the entries' keys, then the lease's marker key; ARGV now, lease, retry, memory, pairs.
      runs.push({
        type: 'settle',
        leaseId: String(argv[1]),
        retry: argv[2] === '1',
        entries: keys.slice(0, -1).map((key, i) => ({ key, amount: Number(argv[5 + i * 2]) })),
      });
    }
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
