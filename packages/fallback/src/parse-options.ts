import { RelError } from '@rel/core';
import type { z } from 'zod';

/**
 * Parses options once, where a factory is called.
 * @throws RelError `invalid_request` whose `param` is the bad field's path (e.g. `router.targets.1.weight`), with the zod error as `cause`.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = [prefix, ...(issue?.path ?? []).map(String)].join('.');
  throw new RelError(
    { kind: 'invalid_request', param },
    { message: `invalid option ${param}: ${issue?.message ?? 'invalid'}`, cause: result.error },
  );
}
