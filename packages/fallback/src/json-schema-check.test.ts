import { describe, expect, it } from 'vitest';
import { checkJsonSchema } from './json-schema-check';

const schema = {
  type: 'object',
  required: ['name', 'tags'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
    level: { enum: ['low', 'high'] },
    count: { type: 'integer', minimum: 0 },
    note: { type: ['string', 'null'] },
  },
};

describe('checkJsonSchema', () => {
  it('accepts a value of the right shape', () => {
    expect(checkJsonSchema({ name: 'a', tags: ['x'], level: 'low', count: 2, note: null }, schema)).toEqual([]);
  });

  it('reports each structural problem with its path', () => {
    expect(checkJsonSchema({ name: '', tags: ['x', 1, 'z'], level: 'mid', count: 1.5, extra: true }, schema)).toEqual([
      '$.name: shorter than 1',
      '$.tags: more than 2 items',
      '$.tags[1]: expected string, got number',
      '$.level: not one of the enum values',
      '$.count: expected integer, got number',
      '$.extra: no value is allowed here',
    ]);
    expect(checkJsonSchema({ tags: [] }, schema)).toEqual(['$: missing required property name']);
    expect(checkJsonSchema([], schema)).toEqual(['$: expected object, got array']);
  });

  it('handles anyOf and allOf', () => {
    const s = { anyOf: [{ type: 'string' }, { type: 'number' }] };
    expect(checkJsonSchema(1, s)).toEqual([]);
    expect(checkJsonSchema(true, s)).toEqual(['$: matches none of anyOf']);
    expect(checkJsonSchema(5, { allOf: [{ type: 'number' }, { maximum: 3 }] })).toEqual(['$: above 3']);
  });
});
