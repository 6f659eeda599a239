import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Clock, systemClock } from '@rel/core';
import { z } from 'zod';
import { type Baseline, baselineFrom, parseJsonWith, readBaseline, writeBaseline } from './baseline';
import { configError, isConfigError } from './config-error';
import { compareFingerprints, fingerprint } from './fingerprint';
import { type GateVerdict, compareWithBaseline, gateSummary } from './gate';
import { loadGoldenSet } from './load-golden-set';
import { type ProgressStream, progressReporter } from './progress';
import { htmlReport } from './report-html';
import { markdownReport } from './report-markdown';
import { runGoldenSet } from './run-golden-set';
import type { RunResults } from './run-results';
import { resolveTarget } from './target';

/** The exit codes of `rel-eval`. */
export const EXIT_CODES = {
  /** Done; the gate passed (non-critical warnings allowed). */
  ok: 0,
  /** Bad arguments, or an invalid golden set, template, baseline or target module. */
  usage: 1,
  /** A critical task regressed against the baseline. */
  regression: 2,
  /** The run could not be done: every call failed to reach the target, or an unexpected error. */
  runFailed: 3,
} as const;

/** Streams, environment and working directory of one CLI invocation (process ones by default). */
export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly clock?: Clock;
  /** Replaces `fetch` for URL targets. */
  readonly fetch?: typeof fetch;
}

const USAGE = `rel-eval: run a golden prompt set and gate deploys on regressions

Usage:
  rel-eval run --set golden.yaml --target <url|module> [--repeat N] [--concurrency C]
               [--baseline baseline.json] [--out dir] [--api-key KEY] [--timeout-ms MS]
  rel-eval baseline --set golden.yaml --target <url|module> [--repeat N] [--concurrency C] [--out baseline.json]
  rel-eval baseline --from results.json --out baseline.json
  rel-eval changed --set golden.yaml [--baseline baseline.json]

Commands:
  run        Runs every case, writes results.json, report.md and report.html to --out
             (default rel-eval-results), and with --baseline applies the regression gate.
  baseline   Writes a new baseline deliberately: runs the set (or takes --from a results.json)
             and writes --out (default: baseline.json beside the golden set).
  changed    Prints changed=true or changed=false: whether the golden set or any file it uses
             (templates, schemas, assertion modules) differs from the baseline's fingerprint.

Target:
  An http(s) URL is an OpenAI-compatible endpoint (such as the rel gateway); a URL ending in /v1
  gets /chat/completions appended. The API key comes from --api-key or REL_EVAL_API_KEY.
  Anything else is a path to a module exporting \`handler\` (an @rel/core Handler).

Exit codes:
  0  done; the gate passed (warnings for non-critical tasks allowed)
  1  usage or configuration error (arguments, golden set, template, baseline, target module)
  2  regression gate failed: a critical task regressed significantly
  3  the run failed: every call failed to reach the target, or an unexpected error
`;

const OPTIONS = {
  set: { type: 'string' },
  target: { type: 'string' },
  repeat: { type: 'string' },
  concurrency: { type: 'string' },
  baseline: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  'api-key': { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  run: ['set', 'target', 'repeat', 'concurrency', 'baseline', 'out', 'api-key', 'timeout-ms'],
  baseline: ['set', 'target', 'repeat', 'concurrency', 'out', 'from', 'api-key', 'timeout-ms'],
  changed: ['set', 'baseline'],
};

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

class UsageError extends Error {}

/**
 * Runs the `rel-eval` command line and resolves with its exit code (see `EXIT_CODES`); it never
 * calls `process.exit`, so tests and other tools can call it in-process.
 * @param argv the arguments after the program name.
 * @example process.exitCode = await runCli(process.argv.slice(2));
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    ...(io.clock ? { clock: io.clock } : {}),
    ...(io.fetch ? { fetch: io.fetch } : {}),
  };
  const err = (text: string) => full.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  try {
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }) as typeof parsed;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const [command, ...extra] = parsed.positionals;
    if (parsed.values.help || command === 'help' || command === undefined) {
      (command === undefined && !parsed.values.help ? full.stderr : full.stdout).write(USAGE);
      return command === undefined && !parsed.values.help ? EXIT_CODES.usage : EXIT_CODES.ok;
    }
    const allowed = ALLOWED[command];
    if (!allowed) throw new UsageError(`unknown command ${JSON.stringify(command)}; expected run, baseline or changed`);
    if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    for (const key of Object.keys(parsed.values)) {
      if (!allowed.includes(key)) throw new UsageError(`--${key} is not an option of ${command}`);
    }
    const values = parsed.values;
    if (command === 'changed') return await changedCommand(values, full);
    if (command === 'baseline') return await baselineCommand(values, full);
    return await runCommand(values, full);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`rel-eval: ${e.message}\nRun rel-eval --help for usage.`);
      return EXIT_CODES.usage;
    }
    if (isConfigError(e)) {
      err(`rel-eval: ${e.message}`);
      return EXIT_CODES.usage;
    }
    err(`rel-eval: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT_CODES.runFailed;
  }
}

function required(values: Values, name: 'set' | 'target'): string {
  const v = values[name];
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** The largest value of each numeric flag (the bounds of `RunOptionsSchema`; a day for the timeout). */
const MAXIMUM = { repeat: 1000, concurrency: 256, 'timeout-ms': 86_400_000 } as const;

function integer(values: Values, name: keyof typeof MAXIMUM, fallback: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (n > MAXIMUM[name]) throw new UsageError(`--${name} must be at most ${MAXIMUM[name]}, got ${v}`);
  return n;
}

async function execute(values: Values, io: CliIo, label: string): Promise<RunResults> {
  const repeat = integer(values, 'repeat', 1);
  const concurrency = integer(values, 'concurrency', 4);
  const timeoutMs = integer(values, 'timeout-ms', 60_000);
  const targetSpec = required(values, 'target');
  const set = await loadGoldenSet(resolve(io.cwd, required(values, 'set')));
  const apiKey = values['api-key'] ?? io.env.REL_EVAL_API_KEY;
  const target = await resolveTarget(targetSpec, {
    apiKey,
    cwd: io.cwd,
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  const progress = progressReporter(io.stderr, label);
  try {
    return await runGoldenSet(set, target.handler, {
      repeat,
      concurrency,
      timeoutMs,
      targetLabel: target.label,
      clock: io.clock ?? systemClock,
      onProgress: progress.update,
    });
  } finally {
    progress.done();
  }
}

/** True when every run failed because the target could not be reached. */
function unreachable(results: RunResults): boolean {
  const runs = results.tasks.flatMap((t) => t.cases.flatMap((c) => c.runs));
  const kinds = new Set(['provider_unavailable', 'unauthorized', 'timeout', 'cancelled']);
  return runs.length > 0 && runs.every((r) => r.error !== undefined && kinds.has(r.error.kind));
}

async function runCommand(values: Values, io: CliIo): Promise<number> {
  const baselinePath = values.baseline === undefined ? undefined : resolve(io.cwd, values.baseline);
  let baseline: Baseline | undefined;
  if (baselinePath) {
    baseline = await readBaseline(baselinePath);
    if (!baseline) {
      throw configError(
        values.baseline as string,
        undefined,
        '',
        'no such baseline; create one with rel-eval baseline',
      );
    }
  }
  const results = await execute(values, io, 'rel-eval run');
  const verdict: GateVerdict | undefined = baseline ? compareWithBaseline(results, baseline) : undefined;
  const outDir = resolve(io.cwd, values.out ?? 'rel-eval-results');
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, 'results.json'),
    `${JSON.stringify({ ...results, ...(verdict ? { gate: verdict } : {}) }, null, 2)}\n`,
  );
  await writeFile(join(outDir, 'report.md'), markdownReport(results, verdict));
  await writeFile(join(outDir, 'report.html'), htmlReport(results, verdict));
  for (const t of results.tasks) {
    io.stdout.write(
      `${t.name}${t.critical ? ' (critical)' : ''}: ${t.passed}/${t.passed + t.failed} passed (${(t.passRate * 100).toFixed(1)}%)\n`,
    );
  }
  io.stdout.write(`reports: ${join(values.out ?? 'rel-eval-results', 'report.html')}\n`);
  if (unreachable(results)) {
    const first = results.tasks[0]?.cases[0]?.runs[0]?.error?.message ?? 'no answer';
    io.stderr.write(`rel-eval: every call failed to reach the target: ${first}\n`);
    return EXIT_CODES.runFailed;
  }
  if (!verdict) return EXIT_CODES.ok;
  io.stdout.write(gateSummary(verdict));
  return verdict.pass ? EXIT_CODES.ok : EXIT_CODES.regression;
}

/** The fields of a results.json that a baseline needs. */
const ResultsFileSchema = z.looseObject({
  version: z.literal(1),
  goldenSet: z.string(),
  target: z.string(),
  startedAt: z.string(),
  repeat: z.number().int().positive(),
  fingerprint: z.strictObject({ combined: z.string(), files: z.record(z.string(), z.string()) }),
  tasks: z.array(
    z.looseObject({
      name: z.string(),
      critical: z.boolean(),
      passed: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      cases: z.array(
        z.looseObject({
          id: z.string(),
          passed: z.number().int().nonnegative(),
          failed: z.number().int().nonnegative(),
        }),
      ),
    }),
  ),
});

async function baselineCommand(values: Values, io: CliIo): Promise<number> {
  let results: RunResults;
  let defaultOut: string | undefined;
  if (values.from !== undefined) {
    if (values.target !== undefined) throw new UsageError('give --from or --target, not both');
    const text = await readFile(resolve(io.cwd, values.from), 'utf8').catch((e: unknown) => {
      throw configError(
        values.from as string,
        undefined,
        '',
        `cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`,
        e,
      );
    });
    results = parseJsonWith(ResultsFileSchema, text, values.from) as unknown as RunResults;
    if (values.set !== undefined) defaultOut = join(dirname(resolve(io.cwd, values.set)), 'baseline.json');
  } else {
    results = await execute(values, io, 'rel-eval baseline');
    defaultOut = join(dirname(resolve(io.cwd, required(values, 'set'))), 'baseline.json');
  }
  const out = values.out === undefined ? defaultOut : resolve(io.cwd, values.out);
  if (!out) throw new UsageError('--out is required with --from unless --set is given');
  if (values.from === undefined && unreachable(results)) {
    const first = results.tasks[0]?.cases[0]?.runs[0]?.error?.message ?? 'no answer';
    io.stderr.write(`rel-eval: every call failed to reach the target, no baseline written: ${first}\n`);
    return EXIT_CODES.runFailed;
  }
  const createdAt = new Date((io.clock ?? systemClock).now()).toISOString();
  await writeBaseline(out, baselineFrom(results, createdAt));
  for (const t of results.tasks) io.stdout.write(`${t.name}: ${t.passed}/${t.passed + t.failed} passed\n`);
  io.stdout.write(`baseline written: ${relative(io.cwd, out) || out}\n`);
  return EXIT_CODES.ok;
}

async function changedCommand(values: Values, io: CliIo): Promise<number> {
  const setPath = resolve(io.cwd, required(values, 'set'));
  const set = await loadGoldenSet(setPath);
  const baselinePath = values.baseline ?? join(dirname(setPath), 'baseline.json');
  const baseline = await readBaseline(resolve(io.cwd, baselinePath));
  if (!baseline) {
    io.stderr.write(
      `rel-eval: no baseline at ${values.baseline ?? 'baseline.json beside the golden set'}: treating as changed\n`,
    );
    io.stdout.write('changed=true\n');
    return EXIT_CODES.ok;
  }
  const change = compareFingerprints(baseline.fingerprint, fingerprint(set.assets));
  for (const p of change.modified) io.stderr.write(`modified: ${p}\n`);
  for (const p of change.added) io.stderr.write(`added: ${p}\n`);
  for (const p of change.removed) io.stderr.write(`removed: ${p}\n`);
  if (!change.changed) io.stderr.write('unchanged since the baseline\n');
  io.stdout.write(`changed=${change.changed}\n`);
  return EXIT_CODES.ok;
}
