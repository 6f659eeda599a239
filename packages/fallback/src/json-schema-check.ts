/**
 * Checks a value against the structural core of a JSON Schema: `type` (with `integer` and type
 * lists), `enum`, `const`, `required`, `properties`, `additionalProperties`, `items`,
 * `minItems`/`maxItems`, `minLength`/`maxLength`, `minimum`/`maximum`, `anyOf`/`oneOf`/`allOf`.
 * Other keywords (`$ref`, `pattern`, `format`...) are not checked. Enough to keep a configured safe
 * default in the shape a response schema asks for; not a full validator.
 * @returns the issues found, each prefixed with its JSON path; empty when the value passes.
 * @example checkJsonSchema({ a: 1 }, { type: 'object', required: ['b'] }) // ['$: missing required property b']
 */
export function checkJsonSchema(value: unknown, schema: unknown, path = '$'): string[] {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as Record<string, unknown>;
  const issues: string[] = [];
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => hasType(value, t))) return [`${path}: expected ${types.join(' or ')}, got ${typeOf(value)}`];
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, value)))
    issues.push(`${path}: not one of the enum values`);
  if ('const' in s && !deepEqual(s.const, value)) issues.push(`${path}: not the const value`);
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength)
      issues.push(`${path}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength)
      issues.push(`${path}: longer than ${s.maxLength}`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) issues.push(`${path}: below ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) issues.push(`${path}: above ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems)
      issues.push(`${path}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems)
      issues.push(`${path}: more than ${s.maxItems} items`);
    if (s.items !== undefined)
      for (const [i, v] of value.entries()) issues.push(...checkJsonSchema(v, s.items, `${path}[${i}]`));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const key of Array.isArray(s.required) ? (s.required as string[]) : [])
      if (!(key in obj)) issues.push(`${path}: missing required property ${key}`);
    for (const [key, v] of Object.entries(obj)) {
      if (key in props) issues.push(...checkJsonSchema(v, props[key], `${path}.${key}`));
      else if (s.additionalProperties !== undefined)
        issues.push(...checkJsonSchema(v, s.additionalProperties, `${path}.${key}`));
    }
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) issues.push(...checkJsonSchema(value, sub, path));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const subs = s[key];
    if (Array.isArray(subs) && !subs.some((sub) => checkJsonSchema(value, sub, path).length === 0))
      issues.push(`${path}: matches none of ${key}`);
  }
  return issues;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'array':
      return Array.isArray(value);
    case 'null':
      return value === null;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
