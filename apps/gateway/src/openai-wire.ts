import {
  type ChatMessage,
  type Completion,
  type FinishReason,
  type LlmRequest,
  RelError,
  type StreamChunk,
  type Usage,
} from '@rel/core';
import { z } from 'zod';

/** Largest `max_tokens` the gateway accepts before caps clamp it further. */
export const MAX_TOKENS_CEILING = 1_000_000;

const TextPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string(), z.array(TextPart)]);
const WireToolCall = z.strictObject({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});
const WireMessage = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: Content, name: z.string().optional() }),
  z.strictObject({ role: z.literal('developer'), content: Content, name: z.string().optional() }),
  z.strictObject({ role: z.literal('user'), content: Content, name: z.string().optional() }),
  z.strictObject({
    role: z.literal('assistant'),
    content: Content.nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(WireToolCall).optional(),
    refusal: z.string().nullable().optional(),
  }),
  z.strictObject({ role: z.literal('tool'), content: Content, tool_call_id: z.string().min(1) }),
]);

/** The OpenAI chat-completions request body, as far as rel supports it; unknown fields are refused. */
export const ChatCompletionRequestSchema = z.strictObject({
  model: z.string().min(1).max(256),
  messages: z.array(WireMessage).min(1).max(2048),
  tools: z
    .array(
      z.strictObject({
        type: z.literal('function'),
        function: z.strictObject({
          name: z.string().min(1).max(128),
          description: z.string().optional(),
          parameters: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullable().optional(),
        }),
      }),
    )
    .max(128)
    .optional(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
    ])
    .optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('text') }),
      z.strictObject({ type: z.literal('json_object') }),
      z.strictObject({
        type: z.literal('json_schema'),
        json_schema: z.strictObject({
          name: z.string().min(1).max(64),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()),
          strict: z.boolean().nullable().optional(),
        }),
      }),
    ])
    .optional(),
  max_tokens: z.number().int().positive().max(MAX_TOKENS_CEILING).nullable().optional(),
  max_completion_tokens: z.number().int().positive().max(MAX_TOKENS_CEILING).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string()).max(4)])
    .nullable()
    .optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z
    .strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() })
    .nullable()
    .optional(),
  n: z.literal(1).nullable().optional(),
  user: z.string().max(256).optional(),
  seed: z.number().int().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  store: z.boolean().nullable().optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/** A JSON-like object: own keys are all that `ChatCompletionRequestSchema` would read (no inherited fields). */
const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
/** `max_tokens` / `max_completion_tokens`: a positive whole number up to the ceiling, or null. */
const isTokens = (v: unknown): boolean =>
  v === null || (Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_TOKENS_CEILING);
/** A number the schema checks with `.min(0).max(hi)`, or null; NaN and infinities fail the comparisons. */
const isInRange = (v: unknown, hi: number): boolean => v === null || (typeof v === 'number' && v >= 0 && v <= hi);
/** A non-tool message with string content (`content` may be null or absent only for `assistant`). */
function isCommonMessage(m: unknown): boolean {
  if (!isPlain(m)) return false;
  const role = m.role;
  const assistant = role === 'assistant';
  if (!assistant && role !== 'user' && role !== 'system' && role !== 'developer') return false;
  let hasContent = assistant;
  for (const key of Object.keys(m)) {
    const v = m[key];
    switch (key) {
      case 'role':
        break;
      case 'content':
        if (typeof v !== 'string' && !(assistant && v === null)) return false;
        hasContent = true;
        break;
      case 'name':
        if (typeof v !== 'string') return false;
        break;
      case 'refusal':
        if (!assistant || (v !== null && typeof v !== 'string')) return false;
        break;
      default:
        return false;
    }
  }
  return hasContent;
}

/** The request's own fields pass the schema unchanged; any other field or shape is left to zod. */
function isCommonRequest(b: Record<string, unknown>): boolean {
  let required = 0;
  for (const key of Object.keys(b)) {
    const v = b[key];
    switch (key) {
      case 'model':
        // Lengths here are UTF-16 units; zod counts code points (never more): a longer string is its call.
        if (typeof v !== 'string' || v.length < 1 || v.length > 256) return false;
        required++;
        break;
      case 'messages':
        if (!Array.isArray(v) || v.length < 1 || v.length > 2048) return false;
        for (let i = 0; i < v.length; i++) if (!isCommonMessage(v[i])) return false;
        required++;
        break;
      case 'max_tokens':
      case 'max_completion_tokens':
        if (!isTokens(v)) return false;
        break;
      case 'temperature':
        if (!isInRange(v, 2)) return false;
        break;
      case 'top_p':
        if (!isInRange(v, 1)) return false;
        break;
      case 'stream':
      case 'store':
        if (v !== null && typeof v !== 'boolean') return false;
        break;
      case 'parallel_tool_calls':
        if (typeof v !== 'boolean') return false;
        break;
      case 'n':
        if (v !== null && v !== 1) return false;
        break;
      case 'user':
        if (typeof v !== 'string' || v.length > 256) return false;
        break;
      case 'seed':
        if (v !== null && !Number.isSafeInteger(v)) return false;
        break;
      case 'stop':
        if (v === null || typeof v === 'string') break;
        if (!Array.isArray(v) || v.length > 4) return false;
        for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
        break;
      case 'stream_options':
        if (v === null) break;
        if (!isPlain(v)) return false;
        for (const k of Object.keys(v)) {
          if ((k !== 'include_usage' && k !== 'include_obfuscation') || typeof v[k] !== 'boolean') return false;
        }
        break;
      case 'metadata':
        if (v === null) break;
        if (!isPlain(v)) return false;
        // Every own key, as the record schema reads them: a symbol key fails it, `__proto__` is dropped from its copy.
        for (const k of Reflect.ownKeys(v)) {
          if (typeof k !== 'string' || k === '__proto__' || typeof v[k] !== 'string') return false;
        }
        break;
      default:
        return false;
    }
  }
  return required === 2;
}

/**
 * `body` itself when it is a common request `ChatCompletionRequestSchema` accepts unchanged (plain
 * string messages and scalar options; no present-but-undefined fields), else
 * `ChatCompletionRequestSchema.safeParse(body)`: the usual request checked without zod building
 * its copy. Tools, content parts, `response_format` and every error still go through zod.
 * @example readChatRequest(JSON.parse('{"model":"m","messages":[{"role":"user","content":"Hi"}]}')).success // true
 */
export function readChatRequest(
  body: unknown,
):
  | { readonly success: true; readonly data: ChatCompletionRequest }
  | ReturnType<typeof ChatCompletionRequestSchema.safeParse> {
  if (isPlain(body) && isCommonRequest(body)) return { success: true, data: body as ChatCompletionRequest };
  return ChatCompletionRequestSchema.safeParse(body);
}

/**
 * Parses an OpenAI request body into a core `LlmRequest`.
 * @throws RelError `invalid_request` whose `param` names the first bad field, e.g. `messages.0.role`.
 */
export function parseChatRequest(body: unknown): { request: LlmRequest; includeUsage: boolean; user?: string } {
  const parsed = readChatRequest(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue ? issuePath(issue) : '';
    const message = issue ? `${path ? `${path}: ` : ''}${issueMessage(issue)}` : 'invalid request body';
    throw new RelError({ kind: 'invalid_request', ...(path ? { param: path } : {}) }, { message });
  }
  const b = parsed.data;
  const text = (c: z.infer<typeof Content> | null | undefined) =>
    c == null ? '' : typeof c === 'string' ? c : c.map((p) => p.text).join('');
  const messages: ChatMessage[] = b.messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: text(m.content) };
      case 'user':
        return { role: 'user', content: text(m.content) };
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content == null ? null : text(m.content),
          ...(m.tool_calls
            ? {
                toolCalls: m.tool_calls.map((t) => ({
                  id: t.id,
                  name: t.function.name,
                  arguments: t.function.arguments,
                })),
              }
            : {}),
        };
      default:
        return { role: 'tool', toolCallId: m.tool_call_id, content: text(m.content) };
    }
  });
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? undefined;
  const request: LlmRequest = {
    model: b.model,
    messages,
    ...(b.tools
      ? {
          tools: b.tools.map((t) => ({
            name: t.function.name,
            ...(t.function.description ? { description: t.function.description } : {}),
            parameters: t.function.parameters ?? { type: 'object', properties: {} },
          })),
        }
      : {}),
    ...(b.tool_choice
      ? { toolChoice: typeof b.tool_choice === 'string' ? b.tool_choice : { name: b.tool_choice.function.name } }
      : {}),
    ...(b.response_format
      ? {
          responseFormat:
            b.response_format.type === 'json_schema'
              ? {
                  type: 'json_schema' as const,
                  name: b.response_format.json_schema.name,
                  schema: b.response_format.json_schema.schema,
                  ...(b.response_format.json_schema.strict != null
                    ? { strict: b.response_format.json_schema.strict }
                    : {}),
                }
              : { type: b.response_format.type },
        }
      : {}),
    ...(maxTokens != null ? { maxTokens } : {}),
    ...(b.temperature != null ? { temperature: b.temperature } : {}),
    ...(b.top_p != null ? { topP: b.top_p } : {}),
    ...(b.stop != null ? { stop: typeof b.stop === 'string' ? [b.stop] : b.stop } : {}),
    ...(b.stream ? { stream: true } : {}),
    ...(b.metadata ? { metadata: b.metadata } : {}),
  };
  return { request, includeUsage: b.stream_options?.include_usage === true, ...(b.user ? { user: b.user } : {}) };
}

function issuePath(issue: z.core.$ZodIssue): string {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const base = issue.path.map(String).join('.');
  return keys.length > 0 ? [base, keys[0]].filter(Boolean).join('.') : base;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return 'unknown or unsupported field';
  return issue.message;
}

function wireUsage(u: Usage) {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  };
}

/** A core `Completion` as an OpenAI `chat.completion` object; `model` is the version that answered. */
export function toChatCompletion(c: Completion, id: string, created: number) {
  return {
    id,
    object: 'chat.completion' as const,
    created,
    model: c.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: c.message.content,
          refusal: null,
          ...(c.message.toolCalls?.length
            ? {
                tool_calls: c.message.toolCalls.map((t) => ({
                  id: t.id,
                  type: 'function' as const,
                  function: { name: t.name, arguments: t.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: c.finishReason,
      },
    ],
    usage: wireUsage(c.usage),
  };
}

/** Builds `chat.completion.chunk` objects for one stream; `model` is updated once the answer names it. */
export class ChunkWriter {
  #model: string;
  #first = true;
  /** `data: ` and the text of a text delta's event up to its `delta` fields, for the current model. */
  #textHead: string | undefined;
  constructor(
    readonly id: string,
    readonly created: number,
    model: string,
  ) {
    this.#model = model;
  }

  /**
   * The server-sent events (`data: <json>\n\n`, zero, one or two) for one core stream chunk: the
   * same text as `encode` serialized, a text delta's without building its objects.
   * @example writer.sse({ type: 'text-delta', text: 'Hi' }, false) // 'data: {"id":...,"choices":[...]}\n\n'
   */
  sse(chunk: StreamChunk, includeUsage: boolean): string {
    if (chunk.type !== 'text-delta') {
      let out = '';
      for (const wire of this.encode(chunk, includeUsage)) out += `data: ${JSON.stringify(wire)}\n\n`;
      return out;
    }
    this.#textHead ??= `data: {"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${JSON.stringify(this.created)},"model":${JSON.stringify(this.#model)},"choices":[{"index":0,"delta":{`;
    const role = this.#first ? '"role":"assistant",' : '';
    this.#first = false;
    return `${this.#textHead}${role}"content":${JSON.stringify(chunk.text)}},"finish_reason":null}]}\n\n`;
  }

  /** The wire chunks (zero, one or two) for one core stream chunk. */
  encode(chunk: StreamChunk, includeUsage: boolean): object[] {
    if (chunk.type === 'finish' && chunk.model) {
      this.#model = chunk.model;
      this.#textHead = undefined;
    }
    // No object spreads here: fields added after a leading spread cost V8 (Node 20) a new hidden
    // class each, and a tool call's stream encodes every chunk through this.
    const first = this.#first;
    this.#first = false;
    switch (chunk.type) {
      case 'text-delta':
        return [
          this.#wire([
            {
              index: 0,
              delta: first ? { role: 'assistant', content: chunk.text } : { content: chunk.text },
              finish_reason: null,
            },
          ]),
        ];
      case 'tool-call-delta': {
        const fn: { name?: string; arguments: string } = chunk.name
          ? { name: chunk.name, arguments: chunk.argumentsDelta ?? '' }
          : { arguments: chunk.argumentsDelta ?? '' };
        const call = chunk.id
          ? { index: chunk.index, id: chunk.id, type: 'function', function: fn }
          : { index: chunk.index, function: fn };
        const delta = first ? { role: 'assistant', tool_calls: [call] } : { tool_calls: [call] };
        return [this.#wire([{ index: 0, delta, finish_reason: null }])];
      }
      case 'finish': {
        const delta = first ? { role: 'assistant' } : {};
        const out: object[] = [this.#wire([{ index: 0, delta, finish_reason: chunk.finishReason as FinishReason }])];
        if (includeUsage && chunk.usage) out.push(this.#wire([], wireUsage(chunk.usage)));
        return out;
      }
    }
  }

  /** One `chat.completion.chunk` with `choices` (and `usage`, for the usage chunk). */
  #wire(choices: object[], usage?: object): object {
    const id = this.id;
    const created = this.created;
    const model = this.#model;
    return usage === undefined
      ? { id, object: 'chat.completion.chunk', created, model, choices }
      : { id, object: 'chat.completion.chunk', created, model, choices, usage };
  }
}

/** OpenAI-style error JSON: `type` is the user-visible class, `code` the failure kind. */
export function toErrorBody(error: RelError) {
  const f = error.failure;
  return {
    error: {
      message: error.message,
      type: error.info.userClass,
      param: f.kind === 'invalid_request' ? (f.param ?? null) : null,
      code: f.kind === 'invalid_request' && f.status === 404 ? 'model_not_found' : f.kind,
    },
  };
}
