import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractJson, parseJsonLoose } from './extract-json';

describe('extractJson / parseJsonLoose', () => {
  it('takes the JSON out of a code fence surrounded by prose', () => {
    const text = 'Sure! Here it is:\n```json\n{"city": "Oslo", "tags": ["a", "b"]}\n```\nAnything else?';
    expect(extractJson(text)).toBe('{"city": "Oslo", "tags": ["a", "b"]}');
    expect(parseJsonLoose(text)).toEqual({ ok: true, value: { city: 'Oslo', tags: ['a', 'b'] }, repaired: false });
  });

  it('takes the first balanced object out of prose, ignoring brackets inside strings', () => {
    expect(extractJson('The answer is {"a": "}{", "b": [1, {"c": 2}]} as requested.')).toBe(
      '{"a": "}{", "b": [1, {"c": 2}]}',
    );
    expect(extractJson('```\n[1, 2]\n```')).toBe('[1, 2]');
  });

  it('repairs trailing commas, single quotes, unquoted keys and a cut-off end', () => {
    expect(parseJsonLoose("{'name': 'Ann', 'age': 3,}")).toEqual({
      ok: true,
      value: { name: 'Ann', age: 3 },
      repaired: true,
    });
    expect(parseJsonLoose('{name: "Ann", tags: ["x", "y",],}')).toMatchObject({
      value: { name: 'Ann', tags: ['x', 'y'] },
    });
    expect(parseJsonLoose('Result: {"a": 1, "b": [1, 2')).toMatchObject({ ok: true, value: { a: 1, b: [1, 2] } });
  });

  it('reports text with no JSON in it as an error', () => {
    expect(parseJsonLoose('I cannot help with that.')).toMatchObject({ ok: false });
  });

  it('recovers any JSON value embedded in prose or a fence', () => {
    const json = fc.jsonValue().filter((v) => typeof v === 'object' && v !== null);
    fc.assert(
      fc.property(json, fc.constantFrom('Here: ', 'Sure!\n```json\n', ''), (value, prefix) => {
        const body = JSON.stringify(value);
        const text = prefix.includes('```') ? `${prefix}${body}\n\`\`\`\nDone.` : `${prefix}${body} Done.`;
        const parsed = parseJsonLoose(text);
        expect(parsed.ok && parsed.value).toEqual(JSON.parse(body));
      }),
    );
  });
});
