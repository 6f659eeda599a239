import type { z } from 'zod';

/**
 * Parses options once, in a factory. A bad option throws at once with a message that names the
 * field by its zod issue path, e.g. `retry: invalid option "backoff.capMs": ...`.
 * @internal
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, owner: string): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(options)';
  throw new TypeError(`${owner}: invalid option "${field}": ${issue?.message ?? 'invalid'}`, { cause: result.error });
}
