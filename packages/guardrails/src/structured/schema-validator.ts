import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';

/** A zod schema, or anything with zod's `safeParse` (Standard-Schema-like validators). */
export interface ZodLike {
  safeParse(
    value: unknown,
  ): { success: true; data: unknown } | { success: false; error: { issues: readonly ZodLikeIssue[] } };
}
interface ZodLikeIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}
/** A JSON Schema object. */
export type JsonSchema = Record<string, unknown>;

/** Validation outcome: the (possibly transformed) value, or readable issues (`path: message`). */
export type Validation = { ok: true; value: unknown } | { ok: false; issues: string[] };

/** A compiled validator. */
export type Validator = (value: unknown) => Validation;

/** True for a zod schema (from any copy of zod) rather than a JSON Schema object. */
export function isZodLike(schema: unknown): schema is ZodLike {
  return typeof (schema as { safeParse?: unknown } | null)?.safeParse === 'function';
}

let ajv07: Ajv | undefined;
let ajv2020: Ajv2020 | undefined;
const byIdentity = new WeakMap<object, Validator>();
const byJson = new Map<string, Validator>();
const MAX_JSON_CACHE = 256;

/**
 * Compiles a schema once: zod schemas validate with `safeParse`; JSON Schemas with ajv (draft
 * 2020-12 unless `$schema` names draft-07 or older), cached by object identity and by JSON text.
 * @throws Error when ajv cannot compile the JSON Schema.
 * @example compileSchema({ type: 'object', required: ['a'] })({}).ok // false
 */
export function compileSchema(schema: ZodLike | JsonSchema): Validator {
  const cached = byIdentity.get(schema);
  if (cached) return cached;
  let validator: Validator;
  if (isZodLike(schema)) {
    validator = (value) => {
      const r = schema.safeParse(value);
      return r.success ? { ok: true, value: r.data } : { ok: false, issues: r.error.issues.map(formatZodIssue) };
    };
  } else {
    const key = JSON.stringify(schema);
    const known = byJson.get(key);
    if (known) validator = known;
    else {
      validator = compileJsonSchema(schema);
      if (byJson.size >= MAX_JSON_CACHE) byJson.delete(byJson.keys().next().value as string);
      byJson.set(key, validator);
    }
  }
  byIdentity.set(schema, validator);
  return validator;
}

function compileJsonSchema(schema: JsonSchema): Validator {
  const draft = typeof schema.$schema === 'string' ? schema.$schema : '';
  const legacy = /draft-0[4-7]/.test(draft);
  const engine = legacy
    ? (ajv07 ??= new Ajv({ allErrors: true, strict: false }))
    : (ajv2020 ??= new Ajv2020({ allErrors: true, strict: false }));
  const validate: ValidateFunction = engine.compile(schema);
  return (value) => {
    if (validate(value)) return { ok: true, value };
    return {
      ok: false,
      issues: (validate.errors ?? []).map((e) => {
        const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
        return `${e.instancePath || '(root)'}: ${e.message ?? e.keyword}${extra}`;
      }),
    };
  };
}

function formatZodIssue(issue: ZodLikeIssue): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `/${String(p)}`)).join('');
  return `${path || '(root)'}: ${issue.message}`;
}

/** The JSON Schema of a schema: as is for a JSON Schema, through `z.toJSONSchema` for zod. */
export function toJsonSchema(schema: ZodLike | JsonSchema): JsonSchema | undefined {
  if (!isZodLike(schema)) return schema;
  try {
    return z.toJSONSchema(schema as unknown as z.ZodType, { unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return undefined;
  }
}
