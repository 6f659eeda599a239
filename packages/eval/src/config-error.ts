import { RelError } from '@rel/core';
import type { z } from 'zod';

/**
 * A configuration error: a `RelError` of kind `invalid_request` whose `param` is the field path
 * and whose message names the file, the task and case when known, and the field.
 * @example throw configError('golden.yaml', 'task "a", case "b"', 'assert[0].pattern', 'is not a valid regular expression')
 */
export function configError(file: string, where: string | undefined, field: string, message: string, cause?: unknown) {
  const place = [file, where, field].filter((p) => p !== undefined && p !== '').join(': ');
  return new RelError(
    { kind: 'invalid_request', param: field || '(file)' },
    { message: `${place}: ${message}`, cause },
  );
}

/** True for an error made by `configError` (an `invalid_request` `RelError`). */
export function isConfigError(error: unknown): error is RelError {
  return RelError.is(error) && error.failure.kind === 'invalid_request';
}

/**
 * Formats a zod issue path as a field: `tasks[0].cases[2].assert[1].pattern`.
 * @example fieldPath(['tasks', 0, 'name']) // 'tasks[0].name'
 */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Turns the first zod issue of a golden set into a config error naming the task and case by
 * their names (read from the raw data) and the remaining field.
 */
export function goldenSetIssue(file: string, raw: unknown, error: z.ZodError): RelError {
  // A misspelt key also makes a required one missing; the misspelling is the better message.
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  const path = [...(issue?.path ?? [])];
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const message = issue?.message ?? 'invalid';
  const parts: string[] = [];
  let rest = path;
  if (path[0] === 'tasks' && typeof path[1] === 'number') {
    const task = at(raw, ['tasks', path[1]]);
    parts.push(`task ${quoteName(at(task, ['name']), path[1])}`);
    rest = path.slice(2);
    if (rest[0] === 'cases' && typeof rest[1] === 'number') {
      parts.push(`case ${quoteName(at(task, ['cases', rest[1], 'id']), rest[1])}`);
      rest = rest.slice(2);
    }
  }
  return configError(file, parts.join(', ') || undefined, fieldPath(rest), message, error);
}

function quoteName(name: unknown, index: number): string {
  return typeof name === 'string' && name !== '' ? JSON.stringify(name) : `#${index + 1}`;
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}
