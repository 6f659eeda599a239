import type { ChatMessage, LlmRequest, ResponseFormat, ToolChoice, ToolDefinition } from '@rel/core';
import { z } from 'zod';
import type { Answer } from './answer';

const TextPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });

const WireToolCallSchema = z.looseObject({
  id: z.string().min(1),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const WireMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(TextPartSchema), z.null()]).optional(),
  tool_calls: z.array(WireToolCallSchema).optional(),
  tool_call_id: z.string().min(1).optional(),
});

const nullish = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/** The part of an OpenAI chat-completions request body the fake reads; unknown fields are allowed. */
export const WireRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(WireMessageSchema).min(1),
  tools: nullish(
    z.array(
      z.looseObject({
        type: z.literal('function'),
        function: z.looseObject({
          name: z.string().min(1),
          description: z.string().optional(),
          parameters: z.record(z.string(), z.unknown()).optional(),
          strict: nullish(z.boolean()),
        }),
      }),
    ),
  ),
  tool_choice: nullish(
    z.union([
      z.enum(['auto', 'none', 'required']),
      z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1) }) }),
    ]),
  ),
  response_format: nullish(
    z.union([
      z.looseObject({ type: z.enum(['text', 'json_object']) }),
      z.looseObject({
        type: z.literal('json_schema'),
        json_schema: z.looseObject({
          name: z.string().min(1),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: nullish(z.boolean()),
        }),
      }),
    ]),
  ),
  max_tokens: nullish(z.number().int().positive()),
  max_completion_tokens: nullish(z.number().int().positive()),
  temperature: nullish(z.number().min(0).max(2)),
  stream: nullish(z.boolean()),
  stream_options: nullish(z.looseObject({ include_usage: z.boolean().optional() })),
});

/** A parsed chat-completions request: the provider-neutral request plus the wire-only flags. */
export interface ParsedWireRequest {
  readonly request: LlmRequest;
  /** `stream_options.include_usage`. */
  readonly includeUsage: boolean;
}

/** A rejected request body: the OpenAI error to answer with. */
export interface WireRequestError {
  readonly message: string;
  readonly param: string | null;
}

/**
 * Parses a chat-completions request body (already JSON-decoded) into an `LlmRequest`.
 * @returns `{ ok: true, value }`, or `{ ok: false, error }` naming the bad field in OpenAI's style.
 * @example parseWireRequest({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
 */
export function parseWireRequest(
  body: unknown,
): { ok: true; value: ParsedWireRequest } | { ok: false; error: WireRequestError } {
  const parsed = WireRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = formatParam(issue?.path ?? []);
    const missing = issue?.code === 'invalid_type' && valueAt(body, issue.path) === undefined;
    if (param === 'model' && missing)
      return { ok: false, error: { message: 'you must provide a model parameter', param } };
    const message = missing
      ? `Missing required parameter: '${param}'.`
      : `Invalid value for '${param}': ${issue?.message ?? 'invalid'}.`;
    return { ok: false, error: { message, param } };
  }
  const w = parsed.data;
  const messages: ChatMessage[] = [];
  for (const [i, m] of w.messages.entries()) {
    const content = textOf(m.content);
    if (m.role === 'tool') {
      if (!m.tool_call_id) {
        return {
          ok: false,
          error: {
            message: `Missing required parameter: 'messages[${i}].tool_call_id'.`,
            param: `messages[${i}].tool_call_id`,
          },
        };
      }
      messages.push({ role: 'tool', toolCallId: m.tool_call_id, content: content ?? '' });
    } else if (m.role === 'assistant') {
      const toolCalls = m.tool_calls?.map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      }));
      messages.push({ role: 'assistant', content, ...(toolCalls?.length ? { toolCalls } : {}) });
    } else {
      messages.push({ role: m.role === 'developer' ? 'system' : m.role, content: content ?? '' });
    }
  }
  const tools: ToolDefinition[] | undefined = w.tools?.map((t) => ({
    name: t.function.name,
    ...(t.function.description === undefined ? {} : { description: t.function.description }),
    parameters: t.function.parameters ?? { type: 'object', properties: {} },
    ...(typeof t.function.strict === 'boolean' ? { strict: t.function.strict } : {}),
  }));
  const tc = w.tool_choice;
  const toolChoice: ToolChoice | undefined =
    tc == null ? undefined : typeof tc === 'string' ? tc : { name: tc.function.name };
  const rf = w.response_format;
  let responseFormat: ResponseFormat | undefined;
  if (rf?.type === 'json_schema' && 'json_schema' in rf) {
    const js = rf.json_schema as { name: string; schema?: Record<string, unknown>; strict?: boolean | null };
    responseFormat = {
      type: 'json_schema',
      name: js.name,
      schema: js.schema ?? {},
      ...(typeof js.strict === 'boolean' ? { strict: js.strict } : {}),
    };
  } else if (rf?.type === 'json_object' || rf?.type === 'text') responseFormat = { type: rf.type };
  const maxTokens = w.max_completion_tokens ?? w.max_tokens ?? undefined;
  const request: LlmRequest = {
    model: w.model,
    messages,
    ...(tools ? { tools } : {}),
    ...(toolChoice ? { toolChoice } : {}),
    ...(responseFormat ? { responseFormat } : {}),
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(typeof w.temperature === 'number' ? { temperature: w.temperature } : {}),
    stream: w.stream === true,
  };
  return { ok: true, value: { request, includeUsage: w.stream_options?.include_usage === true } };
}

/** An OpenAI error body: `{ error: { message, type, param, code } }`. */
export interface WireError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * Builds an OpenAI error body.
 * @example errorBody('Rate limit reached', 'requests', null, 'rate_limit_exceeded')
 */
export function errorBody(message: string, type: string, param: string | null, code: string | null): WireError {
  return { error: { message, type, param, code } };
}

/** The `usage` object of a response, in OpenAI's shape. */
export function usageBody(answer: Answer) {
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

/** Identity of one response: the same on every chunk of a stream. */
export interface ResponseMeta {
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** The exact model version reported. */
  readonly model: string;
}

/**
 * Serialises a complete answer as a `chat.completion` object.
 * @example JSON.stringify(completionBody({ id: 'chatcmpl-1', created: 0, model: 'm-2024-08-06' }, answer))
 */
export function completionBody(meta: ResponseMeta, answer: Answer) {
  const text = answer.pieces.join('');
  const message =
    answer.kind === 'tool_call' && answer.toolCall
      ? {
          role: 'assistant' as const,
          content: null,
          tool_calls: [
            {
              id: answer.toolCall.id,
              type: 'function' as const,
              function: { name: answer.toolCall.name, arguments: text },
            },
          ],
          refusal: null,
        }
      : { role: 'assistant' as const, content: text, refusal: null };
  return {
    id: meta.id,
    object: 'chat.completion' as const,
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: answer.finishReason }],
    usage: usageBody(answer),
    system_fingerprint: 'fp_rel_fake',
  };
}

/**
 * Serialises one `chat.completion.chunk`. `usage` is `undefined` to omit the field, `null` when
 * usage is requested but this is not the last chunk.
 */
export function chunkBody(
  meta: ResponseMeta,
  delta: Record<string, unknown> | null,
  finishReason: string | null,
  usage?: ReturnType<typeof usageBody> | null,
) {
  return {
    id: meta.id,
    object: 'chat.completion.chunk' as const,
    created: meta.created,
    model: meta.model,
    system_fingerprint: 'fp_rel_fake',
    choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(usage === undefined ? {} : { usage }),
  };
}

function textOf(content: string | readonly { type: string; text?: string }[] | null | undefined): string | null {
  if (content == null) return null;
  if (typeof content === 'string') return content;
  return content.map((p) => p.text ?? '').join('');
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let current = body;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function formatParam(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || 'body';
}
