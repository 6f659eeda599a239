import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpenAiChunkSchema, OpenAiCompletionSchema, readOpenAiChunk, readOpenAiCompletion } from './openai-wire';

/** A value of any JSON type, weighted towards the ones each field accepts. */
const anyValue = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0, Number.MAX_SAFE_INTEGER + 2, Number.POSITIVE_INFINITY, Number.NaN),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
);
/** A field: absent, a value of the expected kind, or any other value. */
const field = (good: fc.Arbitrary<unknown>) =>
  fc.option(fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: anyValue, weight: 1 }), { nil: undefined, freq: 4 });
const str = fc.oneof(fc.constant(null), fc.string({ maxLength: 6 }));
const count = fc.oneof(fc.constant(null), fc.nat(100), fc.constant(Number.POSITIVE_INFINITY), fc.constant(2.5));
const obj = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.oneof(
    {
      arbitrary: fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, field(v)])), {
        requiredKeys: [],
      }),
      weight: 8,
    },
    { arbitrary: anyValue, weight: 1 },
  );
const toolCall = obj({
  index: fc.oneof(fc.nat(3), fc.constant(-1), fc.constant(1.5)),
  id: str,
  type: fc.constant('function'),
  function: obj({ name: str, arguments: str }),
});
const usage = obj({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: obj({ cached_tokens: count }),
  completion_tokens_details: obj({ reasoning_tokens: count }),
});
/** A chunk or a completion: they differ in `object` and in where a choice keeps its text (`delta`, `message`). */
const answer = (object: string, part: 'delta' | 'message') =>
  obj({
    id: str,
    object: fc.constant(object),
    model: str,
    choices: fc.array(
      obj({
        index: fc.oneof(fc.nat(2), fc.constant(0.5)),
        finish_reason: str,
        logprobs: fc.constant(null),
        [part]: obj({ role: fc.constant('assistant'), content: str, refusal: str, tool_calls: fc.array(toolCall) }),
      }),
      { maxLength: 2 },
    ),
    usage,
    error: anyValue,
  });
const chunk = answer('chat.completion.chunk', 'delta');
const completion = answer('chat.completion', 'message');

/** `read` succeeds exactly when `schema` does, with the same data, or fails with the schema's issues. */
function holdsToSchema(
  values: fc.Arbitrary<unknown>,
  read: (json: unknown) => { success: boolean; data?: unknown; error?: { issues: unknown } },
  schema: { safeParse(json: unknown): { success: boolean; data?: unknown; error?: { issues: unknown } } },
): void {
  fc.assert(
    fc.property(values, (json) => {
      const fast = read(json);
      const zod = schema.safeParse(json);
      expect(fast.success).toBe(zod.success);
      if (zod.success) expect(fast.data).toEqual(zod.data);
      else if (!fast.success) expect(fast.error?.issues).toEqual(zod.error?.issues);
    }),
    { numRuns: 5000 },
  );
}

describe('the hand-checked readers', () => {
  const wellFormed: [string, (json: unknown) => { success: boolean; data?: unknown }, string][] = [
    [
      'a completion (readOpenAiCompletion)',
      readOpenAiCompletion,
      '{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}',
    ],
    [
      'a chunk (readOpenAiChunk)',
      readOpenAiChunk,
      '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}],"usage":null}',
    ],
  ];
  for (const [what, read, text] of wellFormed) {
    it(`read a well-formed ${what} without a copy`, () => {
      const json = JSON.parse(text);
      const result = read(json);
      expect(result.success && result.data).toBe(json);
    });
  }
});

describe('readOpenAiCompletion', () => {
  it('accepts and rejects exactly what the completion schema does, with the same data', () => {
    holdsToSchema(completion, readOpenAiCompletion, OpenAiCompletionSchema);
  });

  it('leaves a count that is not a number to the schema, which reads it as absent', () => {
    const json = { choices: [{ message: { content: 'x' } }], usage: { prompt_tokens: 'three' } };
    const read = readOpenAiCompletion(json);
    expect(read.success).toBe(true);
    expect(read.success && read.data).not.toBe(json);
    expect(read.success && read.data.usage?.prompt_tokens).toBeUndefined();
  });
});

describe('readOpenAiChunk', () => {
  it('accepts and rejects exactly what OpenAiChunkSchema does, with the same data', () => {
    holdsToSchema(chunk, readOpenAiChunk, OpenAiChunkSchema);
  });
});
