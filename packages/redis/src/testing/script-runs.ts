import { createHash } from 'node:crypto';
import { ACQUIRE_BATCH_CLUSTER_LUA, ACQUIRE_BATCH_LUA, ACQUIRE_LUA, RATE_LUA, SETTLE_LUA } from '../scripts';

/** One acquire decision or one settlement, as Redis ran it (keys without the store prefix). */
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

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/** A script's source as MONITOR prints an EVAL argument (Redis's `sdscatrepr` quoting). */
const asMonitored = (text: string) =>
  text.replace(/[\\"\n\r\t]|[^\x20-\x7e]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
const SCRIPTS = new Map<string, 'acquire' | 'rate' | 'batch' | 'cluster batch' | 'settle'>();
for (const [source, kind] of [
  [ACQUIRE_LUA, 'acquire'],
  [RATE_LUA, 'rate'],
  [ACQUIRE_BATCH_LUA, 'batch'],
  [ACQUIRE_BATCH_CLUSTER_LUA, 'cluster batch'],
  [SETTLE_LUA, 'settle'],
] as const) {
  for (const form of [source, sha1(source), asMonitored(source)]) SCRIPTS.set(form, kind);
}

/**
 * The acquire decisions and settlements in one command as Redis `MONITOR` shows it (`args`: the
 * command and its arguments), whatever the layout `RedisStore` sent: a single acquire, a batch of
 * acquires (one entry per decision, in the order Redis decided them; on a Cluster node too), a lone
 * rate op or a settle. Any other
 * command gives none. For tests that check decisions against the server's one true order.
 * @example monitor.on('monitor', (_t, args) => runs.push(...scriptRuns(args, 'gw:')));
 */
export function scriptRuns(args: readonly string[], keyPrefix: string): ScriptRun[] {
  const cmd = String(args[0]).toLowerCase();
  if (cmd !== 'evalsha' && cmd !== 'eval') return [];
  const script = SCRIPTS.get(String(args[1]));
  if (script === undefined) return [];
  const n = Number(args[2]);
  let keys = args.slice(3, 3 + n).map((k) => k.slice(keyPrefix.length));
  let argv = args.slice(3 + n);
  if (script === 'cluster batch') {
    // One key declared for routing; ARGV: the key count, every key, then a batch's ARGV.
    const count = Number(argv[0]);
    keys = argv.slice(1, 1 + count).map((k) => k.slice(keyPrefix.length));
    argv = argv.slice(1 + count);
  }
  if (script === 'acquire') {
    return [
      {
        type: 'acquire',
        ops: keys.map((key, i) => ({
          key,
          kind: String(argv[1 + i * 7]),
          limit: Number(argv[2 + i * 7]),
          cost: Number(argv[5 + i * 7]),
          leaseId: String(argv[6 + i * 7]),
        })),
      },
    ];
  }
  if (script === 'rate') {
    // ARGV: now, limit, period, burst, cost.
    const op = { key: keys[0] as string, kind: 'r', limit: Number(argv[1]), cost: Number(argv[4]), leaseId: '' };
    return [{ type: 'acquire', ops: [op] }];
  }
  if (script === 'settle') {
    // The entries' keys, then the lease's marker key; ARGV: now, lease, retry, memory, then pairs.
    return [
      {
        type: 'settle',
        leaseId: String(argv[1]),
        retry: argv[2] === '1',
        entries: keys.slice(0, -1).map((key, i) => ({ key, amount: Number(argv[5 + i * 2]) })),
      },
    ];
  }
  // A batch: per decision a header `<op count>[,<time>]`, then one `type,limit,period,burst,cost,ttl,lease` per op.
  const runs: ScriptRun[] = [];
  let k = 0;
  for (let p = 0; p < argv.length; ) {
    const count = Number.parseInt(String(argv[p]), 10);
    const ops = [];
    for (let i = 1; i <= count; i++) {
      const fields = String(argv[p + i]).split(',');
      ops.push({
        key: keys[k++] as string,
        kind: fields[0] as string,
        limit: Number(fields[1]),
        cost: Number(fields[4]),
        leaseId: fields.slice(6).join(','),
      });
    }
    runs.push({ type: 'acquire', ops });
    p += count + 1;
  }
  return runs;
}
