import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { configError } from './config-error';
import type { RunResults } from './run-results';

const CountsSchema = z.strictObject({
  passed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});

/** A baseline: the pass/fail counts the gate compares against, and the fingerprint of the set it came from. */
export const BaselineSchema = z.strictObject({
  version: z.literal(1),
  createdAt: z.string(),
  goldenSet: z.string(),
  target: z.string(),
  repeat: z.number().int().positive(),
  fingerprint: z.strictObject({
    combined: z.string(),
    files: z.record(z.string(), z.string()),
  }),
  tasks: z.record(
    z.string(),
    z.strictObject({
      critical: z.boolean(),
      passed: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      cases: z.record(z.string(), CountsSchema),
    }),
  ),
});
export type Baseline = z.infer<typeof BaselineSchema>;

/**
 * Makes a baseline from a run's results.
 * @example const baseline = baselineFrom(results, new Date().toISOString());
 */
export function baselineFrom(results: RunResults, createdAt: string): Baseline {
  const tasks: Baseline['tasks'] = {};
  for (const t of results.tasks) {
    const cases: Record<string, { passed: number; failed: number }> = {};
    for (const c of t.cases) cases[c.id] = { passed: c.passed, failed: c.failed };
    tasks[t.name] = { critical: t.critical, passed: t.passed, failed: t.failed, cases };
  }
  return {
    version: 1,
    createdAt,
    goldenSet: results.goldenSet,
    target: results.target,
    repeat: results.repeat,
    fingerprint: results.fingerprint,
    tasks,
  };
}

/**
 * Reads and validates a baseline file.
 * @returns undefined when the file does not exist.
 * @throws RelError `invalid_request` naming the file and field when it is not a valid baseline.
 */
export async function readBaseline(file: string): Promise<Baseline | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configError(file, undefined, '', `cannot read: ${(e as Error).message}`, e);
  }
  return parseJsonWith(BaselineSchema, text, file);
}

/** Writes a baseline as pretty JSON with a final newline, so diffs in review stay readable. */
export async function writeBaseline(file: string, baseline: Baseline): Promise<void> {
  await writeFile(file, `${JSON.stringify(baseline, null, 2)}\n`);
}

/**
 * Parses JSON text with a zod schema.
 * @throws RelError `invalid_request` naming the file and the field.
 */
export function parseJsonWith<S extends z.ZodType>(schema: S, text: string, file: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw configError(file, undefined, '', `invalid JSON: ${(e as Error).message}`, e);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw configError(
      file,
      undefined,
      (issue?.path ?? []).map(String).join('.'),
      issue?.message ?? 'invalid',
      parsed.error,
    );
  }
  return parsed.data;
}
