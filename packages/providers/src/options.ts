import { RelError } from '@rel/core';
import type { z } from 'zod';

/**
 * Parses factory options with their zod schema, once.
 * @throws RelError `invalid_request` whose `param` and message name the offending field
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, factory: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...(issue?.path ?? []).map(String), ...keys.slice(0, 1)].join('.') || '(options)';
  throw new RelError(
    { kind: 'invalid_request', param: path },
    { message: `${factory}: invalid option ${path}: ${issue?.message ?? 'invalid'}`, cause: parsed.error },
  );
}
