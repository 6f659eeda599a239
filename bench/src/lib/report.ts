import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/ (this file is bench/src/lib/report.ts). */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The repository root. */
export const REPO_ROOT = resolve(BENCH_DIR, '..');
const RESULTS = resolve(BENCH_DIR, 'RESULTS.md');

/** A markdown table from a header row and body rows. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function cores(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(availableParallelism());
  }
}

/** The machine line of an entry: cores, Node version, load average now. */
export function machine(): string {
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `\`nproc\` ${cores()}, Node ${process.version}, load average ${load} (1/5/15 min; the machine is shared)`;
}

/**
 * Prints a benchmark's result and appends a dated entry to bench/RESULTS.md: date, machine,
 * the exact command, the body (tables and notes).
 */
export function record(name: string, body: string, loadAtStart: string): void {
  const command = process.env.REL_BENCH_COMMAND ?? `${benchSettings()}pnpm bench ${name}`;
  const entry = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — ${name}`,
    '',
    `- command: \`${command}\``,
    `- machine: ${machine()}`,
    `- load average at start: ${loadAtStart}`,
    '',
    body.trim(),
    '',
    '',
  ].join('\n');
  console.log(`\n${entry}`);
  if (process.env.REL_BENCH_NO_RECORD) return;
  if (!existsSync(RESULTS))
    writeFileSync(RESULTS, '# Benchmark results\n\nAppended by `pnpm bench <name>`; newest last.\n\n');
  appendFileSync(RESULTS, entry);
  console.log(`appended to ${RESULTS}`);
}

/** The `REL_BENCH_*` settings of this run, as they would be typed before the command (`A=1 B= `). */
function benchSettings(): string {
  const ignored = new Set(['REL_BENCH_COMMAND', 'REL_BENCH_NO_RECORD']);
  return Object.entries(process.env)
    .filter(([k]) => k.startsWith('REL_BENCH_') && !ignored.has(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v ?? ''} `)
    .join('');
}

/** The load average as a string, for the start of a run. */
export function loadNow(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}
