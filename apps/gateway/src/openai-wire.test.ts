import { RelError } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatCompletionRequestSchema, MAX_TOKENS_CEILING, parseChatRequest, readChatRequest } from './openai-wire';

/** A value of any kind a JSON body (or a careless caller) may hold where another was expected. */
const anyValue = fc.oneof(
  fc.constantFrom(null, undefined, '', 'x', true, false, [], {}, [{ type: 'text', text: 'x' }]),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0, 2.5, 3, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.constantFrom(MAX_TOKENS_CEILING, MAX_TOKENS_CEILING + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2),
);
/** A field's value: mostly one the schema takes (bounds included), sometimes one just past a bound, or any other. */
const field = (good: fc.Arbitrary<unknown>, edge?: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { arbitrary: good, weight: 16 },
    { arbitrary: edge ?? anyValue, weight: edge ? 1 : 0 },
    { arbitrary: anyValue, weight: 1 },
  );
type Field = fc.Arbitrary<unknown> | [good: fc.Arbitrary<unknown>, edge: fc.Arbitrary<unknown>];
/** Keys the schema refuses (`refusal` everywhere but on an assistant message); `__proto__` own, as JSON.parse makes it. */
const extraKeys = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 16 },
  fc.constantFrom(
    { bogus: 1 },
    { logprobs: true },
    { tools: [] },
    { refusal: null },
    JSON.parse('{"__proto__":{"x":1}}') as object,
  ),
);
/** An object of some of `fields` (each maybe absent, a required one rarely), now and then with a key the schema refuses or no prototype. */
const obj = (fields: Record<string, Field>, requiredKeys: string[] = []) =>
  fc
    .tuple(
      fc.record(
        Object.fromEntries(
          Object.entries(fields).map(([k, f]) => [k, Array.isArray(f) ? field(f[0], f[1]) : field(f)]),
        ),
        { requiredKeys, noNullPrototype: true },
      ),
      extraKeys,
      fc.integer({ min: 0, max: 39 }),
    )
    .map(([o, extra, dice]) => {
      const out: Record<string, unknown> = extra ? { ...o, ...extra } : { ...o };
      const dropped = requiredKeys[dice - 1];
      if (dropped !== undefined) delete out[dropped];
      return dice === 0 ? Object.assign(Object.create(null), out) : out;
    });

const str = fc.string({ maxLength: 6 });
/** Strings of up to 256 characters, and past it in UTF-16 units only (zod counts code points) or in both. */
const bounded: Field = [
  fc.oneof(
    { arbitrary: fc.string({ minLength: 1, maxLength: 4 }), weight: 8 },
    fc.constantFrom('a'.repeat(256), '😀'.repeat(128), '😀'.repeat(129), `${'a'.repeat(255)}😀`),
  ),
  fc.constantFrom('', null, 'a'.repeat(257), '😀'.repeat(257)),
];
const textParts = fc.array(obj({ type: fc.constantFrom('text', 'image_url'), text: str }), { maxLength: 2 });
/** Tool calls and tool ids, kept rarer so that plain messages (the fast path) stay common. */
const rareMessageFields = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 8 },
  obj({
    tool_calls: fc.constant([{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }]),
    tool_call_id: str,
  }),
);
const message = fc
  .tuple(
    fc.oneof(
      obj(
        {
          role: [fc.constantFrom('system', 'developer', 'user'), fc.constantFrom('tool', 'robot')],
          content: [str, fc.oneof(textParts, fc.constant(null))],
          name: str,
        },
        ['role', 'content'],
      ),
      obj(
        {
          role: fc.constant('assistant'),
          content: [fc.oneof(str, fc.constant(null)), textParts],
          name: str,
          refusal: fc.oneof(str, fc.constant(null)),
        },
        ['role'],
      ),
    ),
    rareMessageFields,
  )
  .map(([m, rare]) => (rare ? { ...m, ...rare } : m));
const plainUser = { role: 'user', content: 'x' };
const messages: Field = [
  fc.oneof(
    { arbitrary: fc.array(message, { minLength: 1, maxLength: 3 }), weight: 16 },
    fc.constant(Array(2048).fill(plainUser)),
  ),
  fc.constantFrom([], Array(2049).fill(plainUser)),
];
const tokens: Field = [
  fc.oneof(fc.constantFrom(null, 1, MAX_TOKENS_CEILING), fc.integer({ min: 1, max: 5000 })),
  fc.constantFrom(0, -1, 1.5, MAX_TOKENS_CEILING + 1),
];
const upTo = (hi: number): Field => [
  fc.oneof(fc.constantFrom(null, 0, -0, hi), fc.double({ min: 0, max: hi, noNaN: true })),
  fc.constantFrom(-Number.MIN_VALUE, hi + 1e-9, hi + 1, Number.NaN),
];
const nullableBoolean = fc.oneof(fc.boolean(), fc.constant(null));
const request = obj(
  {
    model: bounded,
    messages,
    max_tokens: tokens,
    max_completion_tokens: tokens,
    temperature: upTo(2),
    top_p: upTo(1),
    stream: nullableBoolean,
    stream_options: [
      fc.oneof(fc.constant(null), obj({ include_usage: fc.boolean(), include_obfuscation: fc.boolean() })),
      fc.constant({ include_usage: null }),
    ],
    user: bounded,
    seed: [
      fc.oneof(fc.constantFrom(null, 2 ** 53 - 1, -(2 ** 53 - 1)), fc.integer()),
      fc.constantFrom(2 ** 53, -(2 ** 53), 0.5),
    ],
    n: [fc.constantFrom(null, 1), fc.constantFrom(2, 0, -0)],
    stop: [
      fc.oneof(fc.constant(null), str, fc.array(str, { maxLength: 4 })),
      fc.constantFrom(['a', 'b', 'c', 'd', 'e'], [1]),
    ],
    parallel_tool_calls: [fc.boolean(), fc.constant(null)],
    store: nullableBoolean,
    metadata: [
      fc.oneof(fc.constant(null), fc.dictionary(str, str, { maxKeys: 3, noNullPrototype: true })),
      fc.constantFrom(JSON.parse('{"__proto__":"x","a":"b"}') as object, { [Symbol('k')]: 'v' }, { a: 1 }),
    ],
  },
  ['model', 'messages'],
);

describe('readChatRequest', () => {
  it('claims success only where the schema succeeds, with equal data, and otherwise returns its failure', () => {
    let fastPath = 0;
    fc.assert(
      fc.property(request, (body) => {
        const fast = readChatRequest(body);
        const zod = ChatCompletionRequestSchema.safeParse(body);
        expect(fast.success).toBe(zod.success);
        if (zod.success) expect(fast.data).toStrictEqual(zod.data);
        else if (!fast.success) expect(fast.error.issues).toEqual(zod.error.issues);
        if (fast.success && fast.data === body) fastPath++;
      }),
      { numRuns: 5000 },
    );
    // The generator reaches the fast path often enough for the property to be about it.
    expect(fastPath).toBeGreaterThan(250);
  });

  it('returns the common body itself, without zod building a copy', () => {
    const body = JSON.parse(
      '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi","name":"ann"},{"role":"assistant","content":null},{"role":"user","content":"Again"}],"max_tokens":256,"temperature":0.7,"top_p":1,"stream":true,"stream_options":{"include_usage":true},"user":"u-1","seed":42,"n":1,"stop":["\\n"],"store":false,"metadata":{"team":"a"}}',
    );
    const read = readChatRequest(body);
    expect(read.success && read.data).toBe(body);
    const { request, includeUsage, user } = parseChatRequest(body);
    expect(request.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect([request.maxTokens, request.stream, includeUsage, user]).toEqual([256, true, true, 'u-1']);
  });

  it('parses a body with tools through zod', () => {
    const body = {
      model: 'm',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
    };
    const read = readChatRequest(body);
    expect(read.success).toBe(true);
    expect(read.data).not.toBe(body);
    expect(parseChatRequest(body).request.tools).toEqual([{ name: 'weather', parameters: { type: 'object' } }]);
  });

  it('still names the bad field of an invalid body, from zod', () => {
    const bad = (body: unknown) => {
      try {
        parseChatRequest(body);
      } catch (e) {
        return RelError.is(e) ? e : undefined;
      }
      return undefined;
    };
    const role = bad({ model: 'm', messages: [{ role: 'robot', content: 'x' }] });
    expect(role?.failure).toEqual({ kind: 'invalid_request', param: 'messages.0.role' });
    expect(role?.message).toMatch(/^messages\.0\.role: /);
    const temperature = bad({ model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 });
    expect(temperature?.failure).toEqual({ kind: 'invalid_request', param: 'temperature' });
    const unknown = bad({ model: 'm', messages: [{ role: 'user', content: 'x' }], frobnicate: 1 });
    expect(unknown?.failure).toEqual({ kind: 'invalid_request', param: 'frobnicate' });
    expect(unknown?.message).toBe('frobnicate: unknown or unsupported field');
  });
});
