/**
 * memory: resident memory of the in-memory limiter holding 1M distinct keys, rel's MemoryStore
 * (GCRA rate op) against rate-limiter-flexible's RateLimiterMemory. Each runs in its own child
 * process (--expose-gc, full GC before each reading); the key strings themselves are made before
 * the "before" snapshot, so the delta is what the limiter adds.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { table } from '../lib/report';

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const KEYS = 1_000_000;

interface Reading {
  which: string;
  before: { rss: number; heap: number };
  after: { rss: number; heap: number };
  fillMs: number;
}

function run(which: string): Reading {
  const out = execFileSync(process.execPath, [...process.execArgv, CHILD, which, String(KEYS)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as Reading;
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

/** Runs both children (twice, alternating) and returns the RESULTS.md body. */
export async function memoryBench(): Promise<string> {
  if (!process.execArgv.includes('--expose-gc')) throw new Error('run through `pnpm bench memory` (needs --expose-gc)');
  const readings: Reading[] = [];
  for (const which of ['rel', 'rlf', 'rel', 'rlf']) readings.push(run(which));
  const best = (w: string) =>
    readings
      .filter((r) => r.which === w)
      .sort((a, b) => a.after.rss - a.before.rss - (b.after.rss - b.before.rss))[0] as Reading;
  const rel = best('rel');
  const rlf = best('rlf');
  const d = (r: Reading) => r.after.rss - r.before.rss;
  const h = (r: Reading) => r.after.heap - r.before.heap;
  const rows = [
    [
      'rel MemoryStore',
      mib(rel.after.rss),
      mib(d(rel)),
      mib(h(rel)),
      ((h(rel) / KEYS) | 0).toString(),
      `${(rel.fillMs / 1000).toFixed(1)} s`,
      '1.00',
    ],
    [
      'rate-limiter-flexible RateLimiterMemory',
      mib(rlf.after.rss),
      mib(d(rlf)),
      mib(h(rlf)),
      ((h(rlf) / KEYS) | 0).toString(),
      `${(rlf.fillMs / 1000).toFixed(1)} s`,
      (h(rlf) / h(rel)).toFixed(2),
    ],
  ];
  return [
    table(
      [
        'limiter (1M distinct keys)',
        'RSS after (MiB)',
        'RSS delta (MiB)',
        'heap delta (MiB)',
        'heap bytes/key',
        'fill time',
        'ratio (peer heap / rel heap)',
      ],
      rows,
    ),
    '',
    'Each limiter in its own `node --expose-gc` child; 1,000,000 keys `user:<i>` made before the first',
    'reading (so not counted), one admitted decision per key (limit 1000 per hour, so nothing expires;',
    'rel `maxKeys` above 1M so nothing is evicted); readings after two full GCs. Two runs each,',
    'alternating; the smaller RSS delta of each kept. Ratio above 1: rel uses less heap.',
    `All readings (RSS delta MiB): ${readings.map((x) => `${x.which} ${mib(d(x))}`).join(', ')}.`,
  ].join('\n');
}
