import { type ChatMessage, type FinishReason, type LlmRequest, type RandomSource, seededRandom } from '@rel/core';
import { generateFromSchema, violateSchema } from './json-from-schema';
import { VOCABULARY } from './vocabulary';

/** A deterministic answer, split into the token pieces it is emitted (and streamed) as. */
export interface Answer {
  readonly kind: 'text' | 'tool_call';
  /** The emitted pieces, one token each, already cut to `max_tokens`. Joined they are the content or the arguments. */
  readonly pieces: readonly string[];
  /** Set when `kind` is `tool_call`. */
  readonly toolCall?: { readonly id: string; readonly name: string };
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  /** Tokens emitted: `pieces.length`. */
  readonly completionTokens: number;
}

/** How a structured answer should be broken on purpose. */
export type AnswerVariant = 'valid' | 'invalid_json' | 'schema_violation';

export interface AnswerOptions {
  /** Mixed into the hash of the messages, so two fakes with different seeds answer differently. */
  readonly seed: number;
  /** Length of a free-text answer in tokens (words). */
  readonly outputTokens: number;
  readonly variant?: AnswerVariant;
}

/**
 * Builds the deterministic answer to a request: the same messages (and seed) give the same
 * answer. A `json_schema` response format gives JSON valid against the schema; a tool choice of
 * `required` or a named tool gives a tool call whose arguments satisfy the tool's parameters
 * schema; otherwise the answer is `outputTokens` words. `maxTokens` cuts it (finish `length`).
 * @example composeAnswer({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { seed: 0, outputTokens: 5 })
 */
export function composeAnswer(req: LlmRequest, options: AnswerOptions): Answer {
  const hash = hashMessages(req.messages, options.seed);
  const random = seededRandom(hash);
  const variant = options.variant ?? 'valid';
  const promptTokens = countPromptTokens(req.messages);
  const tool = chosenTool(req);
  let kind: Answer['kind'] = 'text';
  let full: string[];
  let toolCall: Answer['toolCall'];
  if (tool) {
    kind = 'tool_call';
    toolCall = { id: `call_${hash.toString(16).padStart(8, '0')}${options.seed.toString(16)}`, name: tool.name };
    full = splitTokens(structured(tool.parameters, random, variant));
  } else if (req.responseFormat?.type === 'json_schema') {
    full = splitTokens(structured(req.responseFormat.schema, random, variant));
  } else if (req.responseFormat?.type === 'json_object' || variant !== 'valid') {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    full = splitTokens(structured(schema, random, variant));
  } else {
    full = words(options.outputTokens, random);
  }
  const cut = req.maxTokens !== undefined && full.length > req.maxTokens;
  const pieces = cut ? full.slice(0, req.maxTokens) : full;
  return {
    kind,
    pieces,
    ...(toolCall ? { toolCall } : {}),
    finishReason: cut ? 'length' : kind === 'tool_call' ? 'tool_calls' : 'stop',
    promptTokens,
    completionTokens: pieces.length,
  };
}

/**
 * Prompt tokens as the fake bills them: `ceil(chars / 4) + 3` per message, counting content,
 * tool-call names and arguments.
 * @example countPromptTokens([{ role: 'user', content: 'abcdefgh' }]) // 5
 */
export function countPromptTokens(messages: readonly ChatMessage[]): number {
  let total = 0;
  for (const m of messages) {
    let chars = m.content?.length ?? 0;
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) chars += c.name.length + c.arguments.length;
    total += Math.ceil(chars / 4) + 3;
  }
  return total;
}

/**
 * A 32-bit FNV-1a hash of the messages' roles and contents, mixed with `seed`.
 * @example hashMessages([{ role: 'user', content: 'hi' }], 0) === hashMessages([{ role: 'user', content: 'hi' }], 0)
 */
export function hashMessages(messages: readonly ChatMessage[], seed: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  const text = JSON.stringify(
    messages.map((m) => [
      m.role,
      m.content,
      m.role === 'assistant' ? (m.toolCalls ?? []) : m.role === 'tool' ? m.toolCallId : null,
    ]),
  );
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Splits text into pieces of four characters, the fake's idea of a token of JSON. */
export function splitTokens(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 4) out.push(text.slice(i, i + 4));
  return out;
}

function chosenTool(req: LlmRequest): { name: string; parameters: Record<string, unknown> } | undefined {
  const choice = req.toolChoice;
  if (!choice || choice === 'auto' || choice === 'none') return undefined;
  if (choice === 'required') return req.tools?.[0];
  return req.tools?.find((t) => t.name === choice.name) ?? { name: choice.name, parameters: { type: 'object' } };
}

function structured(schema: unknown, random: RandomSource, variant: AnswerVariant): string {
  if (variant === 'schema_violation') return JSON.stringify(violateSchema(schema, random));
  const json = JSON.stringify(generateFromSchema(schema, random));
  // Drop the closing character and leave a dangling comma: never valid JSON, whatever the value.
  if (variant === 'invalid_json') return `${json.slice(0, -1)},`;
  return json;
}

function words(count: number, random: RandomSource): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let word = VOCABULARY[Math.floor(random() * VOCABULARY.length)] as string;
    const sentenceStart = i === 0 || (out[i - 1] ?? '').endsWith('.');
    if (sentenceStart) word = word.charAt(0).toUpperCase() + word.slice(1);
    if (i === count - 1 || (i % 9 === 8 && count - i > 3)) word += '.';
    out.push(i === 0 ? word : ` ${word}`);
  }
  return out;
}
