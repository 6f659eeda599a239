import type { RandomSource } from '@rel/core';
import { VOCABULARY } from './vocabulary';

type Schema = Record<string, unknown>;

const MAX_DEPTH = 6;

/**
 * Generates a value that satisfies a JSON Schema (the subset structured outputs use: `type`,
 * `properties`, `required`, `items`, `enum`, `const`, `anyOf`/`oneOf`/`allOf`, `$ref` to
 * `$defs`/`definitions`, numeric and length bounds, common string formats). Every declared
 * property is filled in, so strict schemas are met. The same random source yields the same value.
 * @param schema the JSON Schema.
 * @param random where the choices come from; pass a seeded source for determinism.
 * @example generateFromSchema({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, seededRandom(1))
 */
export function generateFromSchema(schema: unknown, random: RandomSource): unknown {
  const root = asSchema(schema);
  return generate(root, root, random, 0);
}

/**
 * Generates a value that is valid JSON but fails `schema`: a required key is missing, a property
 * has the wrong type, or the value itself has the wrong type.
 * @example violateSchema({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, seededRandom(1)) // {}
 */
export function violateSchema(schema: unknown, random: RandomSource): unknown {
  const root = asSchema(schema);
  const s = resolve(root, root);
  const type = typeOf(s);
  if (type === 'object') {
    const value = generate(s, root, random, 0) as Record<string, unknown>;
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    const [first] = required;
    if (first !== undefined) {
      delete value[first];
      return value;
    }
    const [prop] = Object.keys(asSchema(s.properties));
    if (prop !== undefined) {
      value[prop] = wrongValue(resolve(asSchema(asSchema(s.properties)[prop]), root));
      return value;
    }
    return 'not an object';
  }
  return wrongValue(s);
}

function wrongValue(s: Schema): unknown {
  if (Array.isArray(s.enum) || 'const' in s) return '__not_an_allowed_value__';
  switch (typeOf(s)) {
    case 'string':
      return 42;
    case 'number':
    case 'integer':
      return 'not a number';
    case 'boolean':
      return 'not a boolean';
    case 'array':
      return { not: 'an array' };
    case 'null':
      return 'not null';
    default:
      return ['not an object'];
  }
}

function generate(schema: Schema, root: Schema, random: RandomSource, depth: number): unknown {
  const s = resolve(schema, root);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return pick(s.enum, random);
  const branches = (s.anyOf ?? s.oneOf) as unknown;
  if (Array.isArray(branches) && branches.length > 0) {
    const branch = branches.map(asSchema).find((b) => typeOf(resolve(b, root)) !== 'null') ?? asSchema(branches[0]);
    return generate(branch, root, random, depth);
  }
  if (Array.isArray(s.allOf)) return generate(mergeAll(s, root), root, random, depth);
  switch (typeOf(s)) {
    case 'object':
      return generateObject(s, root, random, depth);
    case 'array':
      return generateArray(s, root, random, depth);
    case 'string':
      return generateString(s, random);
    case 'integer':
      return generateNumber(s, random, true);
    case 'number':
      return generateNumber(s, random, false);
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    default:
      return generateString(s, random);
  }
}

function generateObject(s: Schema, root: Schema, random: RandomSource, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = asSchema(s.properties);
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  for (const [key, child] of Object.entries(properties)) {
    if (depth >= MAX_DEPTH && !required.has(key)) continue;
    out[key] = generate(asSchema(child), root, random, depth + 1);
  }
  return out;
}

function generateArray(s: Schema, root: Schema, random: RandomSource, depth: number): unknown[] {
  const min = typeof s.minItems === 'number' ? s.minItems : 0;
  const max = typeof s.maxItems === 'number' ? s.maxItems : Math.max(min, 3);
  const wanted = depth >= MAX_DEPTH ? 0 : 1 + Math.floor(random() * 2);
  const n = Math.min(max, Math.max(min, wanted));
  const items = asSchema(s.items);
  return Array.from({ length: n }, () => generate(items, root, random, depth + 1));
}

function generateString(s: Schema, random: RandomSource): string {
  const day = 1 + Math.floor(random() * 28);
  const month = 1 + Math.floor(random() * 12);
  const date = `2024-${pad(month)}-${pad(day)}`;
  switch (s.format) {
    case 'date-time':
      return `${date}T${pad(Math.floor(random() * 24))}:${pad(Math.floor(random() * 60))}:00Z`;
    case 'date':
      return date;
    case 'time':
      return `${pad(Math.floor(random() * 24))}:${pad(Math.floor(random() * 60))}:00`;
    case 'email':
      return `${pick(VOCABULARY, random)}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${pick(VOCABULARY, random)}`;
    case 'uuid': {
      const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
    }
  }
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Number.POSITIVE_INFINITY;
  const words = 1 + Math.floor(random() * 3);
  let text = Array.from({ length: words }, () => pick(VOCABULARY, random)).join(' ');
  while (text.length < min) text += ` ${pick(VOCABULARY, random)}`;
  return text.slice(0, Math.max(min, Math.min(max, text.length)));
}

function generateNumber(s: Schema, random: RandomSource, integer: boolean): number {
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const step = integer ? 1 : 0.01;
  const exMin = num(s.exclusiveMinimum);
  const exMax = num(s.exclusiveMaximum);
  let lo = num(s.minimum) ?? (exMin === undefined ? undefined : exMin + step);
  let hi = num(s.maximum) ?? (exMax === undefined ? undefined : exMax - step);
  lo ??= hi === undefined ? 0 : hi - 100;
  hi ??= lo + 100;
  if (integer) {
    lo = Math.ceil(lo);
    hi = Math.floor(hi);
    return lo + Math.floor(random() * (hi - lo + 1));
  }
  const value = Math.round((lo + random() * (hi - lo)) * 100) / 100;
  return Math.min(hi, Math.max(lo, value));
}

function mergeAll(s: Schema, root: Schema): Schema {
  const properties: Schema = { ...asSchema(s.properties) };
  const required = new Set<string>(Array.isArray(s.required) ? (s.required as string[]) : []);
  for (const part of (s.allOf as unknown[]).map((p) => resolve(asSchema(p), root))) {
    Object.assign(properties, asSchema(part.properties));
    if (Array.isArray(part.required)) for (const r of part.required as string[]) required.add(r);
  }
  return { type: 'object', properties, required: [...required] };
}

function resolve(s: Schema, root: Schema): Schema {
  let current = s;
  for (let i = 0; i < 16 && typeof current.$ref === 'string'; i++) {
    const path = current.$ref.replace(/^#\/?/, '').split('/').filter(Boolean);
    let target: unknown = root;
    for (const key of path) target = asSchema(target)[key.replaceAll('~1', '/').replaceAll('~0', '~')];
    current = asSchema(target);
  }
  return current;
}

function typeOf(s: Schema): string | undefined {
  const t = s.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') ?? t[0]) as string | undefined;
  if (s.properties || s.required) return 'object';
  if (s.items) return 'array';
  return undefined;
}

function asSchema(value: unknown): Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Schema) : {};
}

function pick<T>(items: readonly T[], random: RandomSource): T {
  return items[Math.floor(random() * items.length) % items.length] as T;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
