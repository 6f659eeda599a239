import {
  type ChatMessage,
  type Completion,
  type Handler,
  type LlmRequest,
  type LlmResponse,
  type Middleware,
  RelError,
  type RequestContext,
  type StreamingCompletion,
  collectStream,
  completionAsStream,
} from '@rel/core';
import { z } from 'zod';
import { recordGuardrail, stopwatch } from '../output/record-verdict';
import { parseJsonLoose } from './extract-json';
import {
  compileSchema,
  isZodLike,
  type JsonSchema,
  toJsonSchema,
  type Validator,
  type ZodLike,
} from './schema-validator';

/** Options of `structuredOutput` that are data. */
export const StructuredOutputOptionsSchema = z.strictObject({
  /** How many times the model is asked again after an invalid answer. */
  maxReasks: z.number().int().min(0).max(10).default(2),
  /** Name of the `json_schema` response format set when the request has none. */
  schemaName: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('output'),
  /** Set the request's `responseFormat` from `schema` when the request has none. */
  setResponseFormat: z.boolean().default(true),
  /** The name recorded in verdicts and events. */
  name: z.string().min(1).default('structured-output'),
});
/** Options of `structuredOutput`, as written by callers. */
export type StructuredOutputOptions = z.input<typeof StructuredOutputOptionsSchema> & {
  /** A zod schema or a JSON Schema; default: the request's `json_schema` response format. */
  schema?: ZodLike | JsonSchema;
};

/** The user message that asks the model to fix its answer. Exported for tests and custom loops. */
export function reaskMessage(issues: readonly string[]): string {
  const list = issues
    .slice(0, 20)
    .map((i) => `- ${i}`)
    .join('\n');
  return `Your previous answer is not valid against the required JSON schema:\n${list}\nAnswer again with only the corrected JSON, no prose and no code fences.`;
}

/**
 * Makes the model's answer valid JSON for a schema: extracts the JSON from prose or code fences,
 * repairs it with `jsonrepair`, validates it (zod `safeParse`, or ajv for a JSON Schema, compiled
 * once), and on failure asks again, sending the bad answer and the validation errors, up to
 * `maxReasks` times. The completion returned carries the clean JSON text as its content.
 *
 * A streaming request is collected and validated before anything is returned (validation needs the
 * whole answer); the valid answer is then returned as a stream of one text chunk and a finish.
 * An answer made of tool calls passes unchecked. Without a schema in the options or the request,
 * the middleware does nothing.
 * @throws RelError `malformed_output` with the last raw text and its issues when every try failed.
 * @example
 * const Answer = z.object({ city: z.string(), population: z.number() });
 * const handler = compose(structuredOutput({ schema: Answer, maxReasks: 2 }))(provider);
 * JSON.parse((await handler(req, ctx)).message.content) // { city: 'Oslo', population: 709000 }
 */
export function structuredOutput(options: StructuredOutputOptions = {}): Middleware {
  const { schema, ...data } = options;
  const o = StructuredOutputOptionsSchema.parse(data);
  if (schema !== undefined && !isZodLike(schema) && (typeof schema !== 'object' || schema === null)) {
    throw new TypeError('structuredOutput: schema must be a zod schema or a JSON Schema object');
  }
  const fixed: Validator | undefined = schema ? compileSchema(schema) : undefined;
  const fixedJsonSchema = schema && o.setResponseFormat ? toJsonSchema(schema) : undefined;

  // Not async itself: a request with no schema goes straight on, with no promise wrapped around
  // the inner one (an async function returning a promise costs three more ticks).
  return (next) => (req, ctx) => {
    const fromRequest = req.responseFormat?.type === 'json_schema' ? req.responseFormat.schema : undefined;
    const validate = fixed ?? (fromRequest ? compileSchema(fromRequest) : undefined);
    if (!validate) return next(req, ctx);
    return validated(next, req, ctx, validate);
  };

  async function validated(
    next: Handler,
    req: LlmRequest,
    ctx: RequestContext,
    validate: Validator,
  ): Promise<LlmResponse> {
    let request: LlmRequest = req;
    if (!req.responseFormat && fixedJsonSchema) {
      request = { ...req, responseFormat: { type: 'json_schema', name: o.schemaName, schema: fixedJsonSchema } };
    }
    const wantsStream = req.stream === true;
    let messages: ChatMessage[] = request.messages;
    let repaired = false;
    let raw = '';
    let issues: string[] = [];
    let checkMs = 0;
    for (let attempt = 0; attempt <= o.maxReasks; attempt++) {
      const response = await next({ ...request, messages }, ctx);
      const completion = response.type === 'stream' ? await collectStream(response) : response;
      const elapsed = stopwatch();
      if (completion.message.toolCalls?.length && !completion.message.content) {
        return wantsStream ? asStream(completion) : completion;
      }
      raw = completion.message.content ?? '';
      const parsed = parseJsonLoose(raw);
      const result = parsed.ok ? validate(parsed.value) : { ok: false as const, issues: [parsed.error] };
      checkMs += elapsed();
      if (result.ok) {
        repaired ||= parsed.ok && parsed.repaired;
        const categories = [...(repaired ? ['repaired'] : []), ...(attempt > 0 ? ['reasked'] : [])];
        recordGuardrail(ctx, {
          name: o.name,
          stage: 'output',
          action: categories.length > 0 ? 'sanitize' : 'pass',
          categories,
          latencyMs: checkMs,
        });
        const clean: Completion = {
          ...completion,
          message: { ...completion.message, content: JSON.stringify(result.value) },
        };
        return wantsStream ? asStream(clean) : clean;
      }
      issues = result.issues;
      repaired ||= parsed.ok && parsed.repaired;
      messages = [...messages, { role: 'assistant', content: raw }, { role: 'user', content: reaskMessage(issues) }];
    }
    recordGuardrail(ctx, {
      name: o.name,
      stage: 'output',
      action: 'block',
      categories: ['malformed'],
      latencyMs: checkMs,
    });
    throw new RelError(
      { kind: 'malformed_output', raw, issues },
      { cause: new Error(`invalid structured output after ${o.maxReasks + 1} tries`) },
    );
  }
}

/**
 * A completion replayed as a stream: one text chunk, the tool calls, then the finish.
 * @deprecated the same as `completionAsStream` from `@rel/core`; kept for existing callers.
 */
export const asStream: (completion: Completion) => StreamingCompletion = completionAsStream;
