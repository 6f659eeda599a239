import { z } from 'zod';

/** How one fake model behaves when healthy. Persistent until `FakeProvider.reset`. */
export const ModelConfigSchema = z.strictObject({
  /** The exact version reported in `model` (default `${name}-2024-08-06`). */
  version: z.string().min(1).optional(),
  /** Wait before the first byte: fixed, or uniform in `[min, max]` from the seeded random source. */
  latencyMs: z
    .union([
      z.number().nonnegative(),
      z
        .strictObject({ min: z.number().nonnegative(), max: z.number().nonnegative() })
        .refine((r) => r.min <= r.max, { message: 'min must not exceed max', path: ['min'] }),
    ])
    .optional(),
  /** Wait between stream chunks (default 0). */
  chunkDelayMs: z.number().nonnegative().optional(),
  /** Answer 400 `invalid_request_error` when the last message is an assistant message (prefill). */
  rejectsPrefill: z.boolean().optional(),
  /** Prompt tokens above this answer 400 `context_length_exceeded`. */
  contextWindow: z.number().int().positive().optional(),
  /** Length of the free-text answer in tokens (default 24). */
  outputTokens: z.number().int().positive().optional(),
});

/** How one fake model behaves; see `ModelConfigSchema`. */
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** Options of `new FakeProvider(...)`, apart from the clock. */
export const FakeProviderOptionsSchema = z.strictObject({
  /** Mixed into every answer and random latency; different seeds give different answers. Default 0. */
  seed: z.number().int().optional(),
});

/**
 * Parses with `schema`, throwing a `TypeError` that names the bad field.
 * @throws TypeError naming the field, e.g. `model('x').latencyMs: ...`.
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = [where, ...(issue?.path ?? []).map(String)].join('.');
  throw new TypeError(`${path}: ${issue?.message ?? 'invalid'}`, { cause: parsed.error });
}
