import { type Completion, type FinishReason, type LlmRequest, RelError, type ToolCall, type Usage } from '@rel/core';
import { z } from 'zod';
import { cutBody } from './http-failure';

/** How the request's `maxTokens` is sent: `max_tokens` (widest support) or `max_completion_tokens` (OpenAI reasoning models). */
export type MaxTokensField = 'max_tokens' | 'max_completion_tokens';

/**
 * Builds the body of `POST /chat/completions` from a provider-neutral request.
 * @example toOpenAiBody({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { stream: false })
 */
export function toOpenAiBody(
  req: LlmRequest,
  opts: { stream: boolean; includeUsage?: boolean; maxTokensField?: MaxTokensField },
): Record<string, unknown> {
  const body: Record<string, unknown> = { model: req.model, messages: req.messages.map(toWireMessage) };
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description === undefined ? {} : { description: t.description }),
        parameters: t.parameters,
        ...(t.strict === undefined ? {} : { strict: t.strict }),
      },
    }));
  }
  if (req.toolChoice !== undefined) {
    body.tool_choice =
      typeof req.toolChoice === 'string'
        ? req.toolChoice
        : { type: 'function', function: { name: req.toolChoice.name } };
  }
  const rf = req.responseFormat;
  if (rf?.type === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: rf.name, schema: rf.schema, ...(rf.strict === undefined ? {} : { strict: rf.strict }) },
    };
  } else if (rf) body.response_format = { type: rf.type };
  if (req.maxTokens !== undefined) body[opts.maxTokensField ?? 'max_tokens'] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop?.length) body.stop = req.stop;
  if (opts.stream) {
    body.stream = true;
    if (opts.includeUsage !== false) body.stream_options = { include_usage: true };
  }
  return body;
}

function toWireMessage(m: LlmRequest['messages'][number]): Record<string, unknown> {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  }
}

/** A token count; anything else (Infinity from `1e400`, a string) is read as absent rather than failing the chunk. */
const num = z.number().nullish().catch(undefined);

/** OpenAI's `usage` object; every field optional and nullable, as servers differ. */
export const OpenAiUsageSchema = z.looseObject({
  prompt_tokens: num,
  completion_tokens: num,
  prompt_tokens_details: z.looseObject({ cached_tokens: num }).nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: num }).nullish(),
});
type OpenAiUsage = z.infer<typeof OpenAiUsageSchema>;

const WireToolCall = z.looseObject({
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

/** A non-streamed `chat.completion`, as far as rel reads it. */
export const OpenAiCompletionSchema = z.looseObject({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullish(),
        message: z.looseObject({
          content: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z.array(WireToolCall).nullish(),
        }),
      }),
    )
    .min(1),
  usage: OpenAiUsageSchema.nullish(),
});

type OpenAiCompletion = z.infer<typeof OpenAiCompletionSchema>;

/** One `chat.completion.chunk` of a stream. */
export const OpenAiChunkSchema = z.looseObject({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.looseObject({
        index: z.number().nullish(),
        finish_reason: z.string().nullish(),
        delta: z
          .looseObject({
            content: z.string().nullish(),
            refusal: z.string().nullish(),
            tool_calls: z
              .array(
                z.looseObject({
                  index: z.number().int().nonnegative().nullish(),
                  id: z.string().nullish(),
                  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
      }),
    )
    .nullish(),
  usage: OpenAiUsageSchema.nullish(),
  error: z.unknown().optional(),
});
export type OpenAiChunk = z.infer<typeof OpenAiChunkSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNullish = (v: unknown): v is null | undefined => v === undefined || v === null;
const nullishString = (v: unknown): boolean => isNullish(v) || typeof v === 'string';
const nullishNumber = (v: unknown): boolean => isNullish(v) || (typeof v === 'number' && Number.isFinite(v));

function isUsage(v: unknown): boolean {
  if (isNullish(v)) return true;
  if (!isRecord(v)) return false;
  // A count that is not a number is read as absent by the schema (`catch`): leave those to it.
  if (!nullishNumber(v.prompt_tokens) || !nullishNumber(v.completion_tokens)) return false;
  const p = v.prompt_tokens_details;
  const c = v.completion_tokens_details;
  return (
    (isNullish(p) || (isRecord(p) && nullishNumber(p.cached_tokens))) &&
    (isNullish(c) || (isRecord(c) && nullishNumber(c.reasoning_tokens)))
  );
}

/** A tool call of a completion: a nullish string id, a nullish or well-formed function. */
function isToolCall(v: unknown): boolean {
  if (!isRecord(v) || !nullishString(v.id)) return false;
  const f = v.function;
  return isNullish(f) || (isRecord(f) && nullishString(f.name) && nullishString(f.arguments));
}

/** A tool call of a chunk: the same, plus a non-negative whole `index` when there is one. */
function isToolCallDelta(v: unknown): boolean {
  if (!isToolCall(v)) return false;
  const i = (v as Record<string, unknown>).index;
  return isNullish(i) || (typeof i === 'number' && Number.isSafeInteger(i) && i >= 0);
}

/** Every item of `list` passes `check`. */
function every(list: readonly unknown[], check: (v: unknown) => boolean): boolean {
  for (const v of list) if (!check(v)) return false;
  return true;
}

/** A chunk's `delta` or a completion's `message`: nullish string content and refusal, valid tool calls. */
function isMessagePart(m: unknown, isCall: (v: unknown) => boolean): boolean {
  if (!isRecord(m) || !nullishString(m.content) || !nullishString(m.refusal)) return false;
  const calls = m.tool_calls;
  return isNullish(calls) || (Array.isArray(calls) && every(calls, isCall));
}

/** The top-level fields a chunk and a completion share: nullish string id and model, a readable usage. */
function isAnswerHead(json: unknown): json is Record<string, unknown> {
  return isRecord(json) && nullishString(json.id) && nullishString(json.model) && isUsage(json.usage);
}

function isChoice(v: unknown): boolean {
  if (!isRecord(v) || !nullishNumber(v.index) || !nullishString(v.finish_reason)) return false;
  return isNullish(v.delta) || isMessagePart(v.delta, isToolCallDelta);
}

function isCompletionChoice(v: unknown): boolean {
  return isRecord(v) && nullishString(v.finish_reason) && isMessagePart(v.message, isToolCall);
}

/**
 * `json` itself when it is a chunk `OpenAiChunkSchema` accepts unchanged (the schema would give
 * back the same fields), else `OpenAiChunkSchema.safeParse(json)`: one `chat.completion.chunk`
 * read without building zod's copy of every event of a stream.
 */
export function readOpenAiChunk(
  json: unknown,
): { readonly success: true; readonly data: OpenAiChunk } | ReturnType<typeof OpenAiChunkSchema.safeParse> {
  if (isAnswerHead(json)) {
    const choices = json.choices;
    if (isNullish(choices) || (Array.isArray(choices) && every(choices, isChoice)))
      return { success: true, data: json as OpenAiChunk };
  }
  return OpenAiChunkSchema.safeParse(json);
}

/**
 * `json` itself when it is a completion the wire schema accepts unchanged, else the schema's
 * `safeParse(json)`: a non-streamed answer read without building zod's copy of it, as
 * `readOpenAiChunk` reads a stream's events. Exported for its property test.
 * @internal
 */
export function readOpenAiCompletion(
  json: unknown,
): { readonly success: true; readonly data: OpenAiCompletion } | ReturnType<typeof OpenAiCompletionSchema.safeParse> {
  if (isAnswerHead(json)) {
    const choices = json.choices;
    if (Array.isArray(choices) && choices.length > 0 && every(choices, isCompletionChoice))
      return { success: true, data: json as OpenAiCompletion };
  }
  return OpenAiCompletionSchema.safeParse(json);
}

/**
 * Reads a non-streamed chat completion.
 * @throws RelError `provider_error` when the body is not a chat completion
 */
export function fromOpenAiCompletion(json: unknown, requestedModel: string, provider: string, raw: string): Completion {
  const parsed = readOpenAiCompletion(json);
  if (!parsed.success) {
    throw new RelError({ kind: 'provider_error', status: 200, body: cutBody(raw) }, { cause: parsed.error });
  }
  const w = parsed.data;
  const choice = w.choices[0]!;
  const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).map((c, i) => ({
    id: c.id || `call_${i}`,
    name: c.function?.name ?? '',
    arguments: c.function?.arguments ?? '',
  }));
  const refusal = choice.message.refusal;
  const content = choice.message.content ?? (refusal || null);
  return {
    type: 'completion',
    id: w.id ?? '',
    requestedModel,
    model: w.model || requestedModel,
    provider,
    message: { role: 'assistant', content, ...(toolCalls.length ? { toolCalls } : {}) },
    finishReason: refusal ? 'content_filter' : mapOpenAiFinish(choice.finish_reason, toolCalls.length > 0),
    usage: fromOpenAiUsage(w.usage),
  };
}

/** Maps OpenAI's `finish_reason`; unknown reasons (`eos`, null) are `stop`, or `tool_calls` when calls were made. */
export function mapOpenAiFinish(reason: string | null | undefined, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    default:
      return hasToolCalls ? 'tool_calls' : 'stop';
  }
}

/**
 * Maps OpenAI's usage, keeping cached and reasoning tokens when the server reports them. Counts
 * that are not whole non-negative numbers (a misbehaving server's `-3`, `2.6`, `1e400`) are
 * rounded or dropped, so the usage recorded and billed is always valid.
 */
export function fromOpenAiUsage(u: OpenAiUsage | null | undefined): Usage {
  const usage: Usage = { inputTokens: tokens(u?.prompt_tokens) ?? 0, outputTokens: tokens(u?.completion_tokens) ?? 0 };
  const cached = tokens(u?.prompt_tokens_details?.cached_tokens);
  const reasoning = tokens(u?.completion_tokens_details?.reasoning_tokens);
  if (cached !== undefined) usage.cachedInputTokens = cached;
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}

function tokens(n: number | null | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}
