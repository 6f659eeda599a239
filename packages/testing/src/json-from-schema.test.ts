import { seededRandom } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateFromSchema, violateSchema } from './json-from-schema';

type Schema = Record<string, unknown>;

/** A small validator for the subset the generator supports; returns the first problem found. */
function problem(schema: Schema, value: unknown, root: Schema = schema): string | undefined {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').at(-1) as string;
    return problem((root.$defs as Record<string, Schema>)[name] as Schema, value, root);
  }
  if (Array.isArray(schema.enum)) return schema.enum.includes(value) ? undefined : 'not in enum';
  if (Array.isArray(schema.anyOf)) {
    return (schema.anyOf as Schema[]).some((s) => problem(s, value, root) === undefined)
      ? undefined
      : 'no anyOf branch';
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const typeOk = types.some((t) => {
    switch (t) {
      case 'object':
        return typeof value === 'object' && value !== null && !Array.isArray(value);
      case 'array':
        return Array.isArray(value);
      case 'string':
        return typeof value === 'string';
      case 'integer':
        return Number.isInteger(value);
      case 'number':
        return typeof value === 'number';
      case 'boolean':
        return typeof value === 'boolean';
      case 'null':
        return value === null;
      default:
        return true;
    }
  });
  if (!typeOk) return `expected ${String(schema.type)}`;
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) return 'below minimum';
    if (typeof schema.maximum === 'number' && value > schema.maximum) return 'above maximum';
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) return 'too short';
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return 'too long';
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) return 'too few items';
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) return 'too many items';
    for (const item of value) {
      const p = problem(schema.items as Schema, item, root);
      if (p) return `item: ${p}`;
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in obj)) return `missing ${key}`;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [key, v] of Object.entries(obj)) {
      if (!(key in props)) return `unexpected ${key}`;
      const p = problem(props[key] as Schema, v, root);
      if (p) return `${key}: ${p}`;
    }
  }
  return undefined;
}

const leaf: fc.Arbitrary<Schema> = fc.oneof(
  fc.record({ type: fc.constant('string'), minLength: fc.nat(20), maxLength: fc.integer({ min: 20, max: 40 }) }),
  fc.integer({ min: -1000, max: 1000 }).chain((lo) =>
    fc.record({
      type: fc.constant('integer'),
      minimum: fc.constant(lo),
      maximum: fc.integer({ min: lo, max: lo + 50 }),
    }),
  ),
  fc.record({ type: fc.constant('number'), minimum: fc.constant(0), maximum: fc.constant(1) }),
  fc.constant({ type: 'boolean' }),
  fc.constant({ type: ['string', 'null'] }),
  fc.constant({ type: 'string', format: 'date-time' }),
  fc.constant({ enum: ['red', 'green', 'blue'] }),
  fc.constant({ anyOf: [{ type: 'integer' }, { type: 'null' }] }),
);

const schemaArb: fc.Arbitrary<Schema> = fc.letrec<{ node: Schema }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({
      type: fc.constant('array'),
      items: tie('node'),
      minItems: fc.nat(2),
      maxItems: fc.integer({ min: 2, max: 4 }),
    }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), tie('node'), { maxKeys: 4 }).map((properties) => ({
      type: 'object',
      properties,
      required: Object.keys(properties),
      additionalProperties: false,
    })),
  ),
})).node;

describe('generateFromSchema', () => {
  it('generates a value valid against any schema of the supported subset (property)', () => {
    fc.assert(
      fc.property(schemaArb, fc.integer(), (schema, seed) => {
        const value = generateFromSchema(schema, seededRandom(seed));
        expect(problem(schema, value)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('follows $ref into $defs and is deterministic for a seed', () => {
    const schema = {
      type: 'object',
      properties: {
        owner: { $ref: '#/$defs/person' },
        team: { type: 'array', items: { $ref: '#/$defs/person' }, minItems: 2 },
      },
      required: ['owner', 'team'],
      $defs: {
        person: {
          type: 'object',
          properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0, maximum: 120 } },
          required: ['name', 'age'],
        },
      },
    };
    const value = generateFromSchema(schema, seededRandom(9));
    expect(problem(schema, value)).toBeUndefined();
    expect(generateFromSchema(schema, seededRandom(9))).toEqual(value);
  });

  it('terminates on a recursive schema', () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
      required: ['name', 'children'],
    };
    const value = generateFromSchema(schema, seededRandom(1)) as { name: string };
    expect(typeof value.name).toBe('string');
  });
});

describe('violateSchema', () => {
  it('produces JSON that the schema rejects, for any object schema with a required key (property)', () => {
    const objects = schemaArb.filter((s) => s.type === 'object' && Object.keys(s.properties as object).length > 0);
    fc.assert(
      fc.property(objects, fc.integer(), (schema, seed) => {
        const value = violateSchema(schema, seededRandom(seed));
        expect(problem(schema, value)).toBeDefined();
        expect(JSON.parse(JSON.stringify(value))).toEqual(value);
      }),
      { numRuns: 100 },
    );
  });

  it('gives a wrongly typed value for scalar schemas', () => {
    expect(problem({ type: 'string' }, violateSchema({ type: 'string' }, seededRandom(1)))).toBeDefined();
    expect(problem({ type: 'integer' }, violateSchema({ type: 'integer' }, seededRandom(1)))).toBeDefined();
    expect(
      problem({ type: 'array', items: {} }, violateSchema({ type: 'array', items: {} }, seededRandom(1))),
    ).toBeDefined();
  });

  it('drops a required key when the object has one', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, required: ['b'] };
    expect(violateSchema(schema, seededRandom(1))).toEqual({ a: expect.any(String) });
  });
});
