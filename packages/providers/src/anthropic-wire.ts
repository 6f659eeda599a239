import { type Completion, type FinishReason, type LlmRequest, RelError, type ToolCall, type Usage } from '@rel/core';
import { z } from 'zod';
import { cutBody } from './http-failure';

/** Built request body, plus the name of the tool that carries a JSON answer when one was asked for. */
export interface AnthropicBody {
  readonly body: Record<string, unknown>;
  /** Set when `responseFormat` asked for JSON: the forced tool whose input is the answer. */
  readonly jsonTool: string | undefined;
}

/**
 * Builds a Messages API body. System messages go to `system`; tool results become `tool_result`
 * blocks of one user message; assistant tool calls become `tool_use` blocks. A JSON
 * `responseFormat` is served the way Anthropic recommends, by a tool whose `input_schema` is the
 * schema (forced when the request has no tools of its own); its input comes back as the text.
 * @throws RelError `invalid_request` when an assistant tool call's arguments are not a JSON object
 */
export function toAnthropicBody(req: LlmRequest, opts: { stream: boolean; defaultMaxTokens: number }): AnthropicBody {
  const system = req.messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const messages: { role: 'user' | 'assistant'; content: unknown[] }[] = [];
  const push = (role: 'user' | 'assistant', blocks: unknown[]) => {
    const last = messages.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  req.messages.forEach((m, i) => {
    if (m.role === 'user') push('user', [{ type: 'text', text: m.content }]);
    else if (m.role === 'tool') push('user', [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content }]);
    else if (m.role === 'assistant') {
      const blocks: unknown[] = m.content ? [{ type: 'text', text: m.content }] : [];
      m.toolCalls?.forEach((c, j) => {
        blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: toolInput(c.arguments, i, j) });
      });
      if (blocks.length) push('assistant', blocks);
    }
  });

  const body: Record<string, unknown> = {
    model: req.model,
    max_tokens: req.maxTokens ?? opts.defaultMaxTokens,
    messages,
  };
  if (system) body.system = system;
  const tools: Record<string, unknown>[] = (req.tools ?? []).map((t) => ({
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    input_schema: t.parameters,
  }));
  let jsonTool: string | undefined;
  const rf = req.responseFormat;
  if (rf && rf.type !== 'text') {
    jsonTool = rf.type === 'json_schema' ? rf.name : 'json';
    const schema = rf.type === 'json_schema' ? rf.schema : { type: 'object' };
    tools.push({ name: jsonTool, description: 'Respond with the answer as this tool input.', input_schema: schema });
  }
  if (tools.length) body.tools = tools;
  const choice = req.toolChoice;
  if (jsonTool && !req.tools?.length) body.tool_choice = { type: 'tool', name: jsonTool };
  else if (choice === 'auto' || choice === 'none') body.tool_choice = { type: choice };
  else if (choice === 'required') body.tool_choice = { type: 'any' };
  else if (choice) body.tool_choice = { type: 'tool', name: choice.name };
  if (req.temperature !== undefined) body.temperature = Math.min(1, req.temperature);
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop?.length) body.stop_sequences = req.stop;
  if (opts.stream) body.stream = true;
  return { body, jsonTool };
}

function toolInput(args: string, message: number, call: number): unknown {
  try {
    const value: unknown = JSON.parse(args || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw new RelError(
    { kind: 'invalid_request', param: `messages.${message}.toolCalls.${call}.arguments` },
    { message: 'tool call arguments must be a JSON object for Anthropic' },
  );
}

const num = z.number().nullish();

/** Anthropic's `usage` object (in `message`, `message_start` and `message_delta`). */
export const AnthropicUsageSchema = z.looseObject({
  input_tokens: num,
  output_tokens: num,
  cache_read_input_tokens: num,
  cache_creation_input_tokens: num,
});
export type AnthropicUsage = z.infer<typeof AnthropicUsageSchema>;

const MessageWire = z.looseObject({
  id: z.string().nullish(),
  model: z.string().nullish(),
  stop_reason: z.string().nullish(),
  content: z.array(
    z.looseObject({
      type: z.string(),
      text: z.string().nullish(),
      id: z.string().nullish(),
      name: z.string().nullish(),
      input: z.unknown().optional(),
    }),
  ),
  usage: AnthropicUsageSchema.nullish(),
});

/**
 * Reads a Messages API response. Thinking blocks are dropped; the JSON tool's input (see
 * `toAnthropicBody`) becomes the text.
 * @throws RelError `provider_error` when the body is not a message
 */
export function fromAnthropicMessage(
  json: unknown,
  requestedModel: string,
  provider: string,
  raw: string,
  jsonTool: string | undefined,
): Completion {
  const parsed = MessageWire.safeParse(json);
  if (!parsed.success) {
    throw new RelError({ kind: 'provider_error', status: 200, body: cutBody(raw) }, { cause: parsed.error });
  }
  const w = parsed.data;
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of w.content) {
    if (block.type === 'text') text += block.text ?? '';
    else if (block.type === 'tool_use' && jsonTool !== undefined && block.name === jsonTool) {
      text += JSON.stringify(block.input ?? {});
    } else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id || `toolu_${toolCalls.length}`,
        name: block.name ?? '',
        arguments: JSON.stringify(block.input ?? {}),
      });
    }
  }
  return {
    type: 'completion',
    id: w.id ?? '',
    requestedModel,
    model: w.model || requestedModel,
    provider,
    message: {
      role: 'assistant',
      content: text.length > 0 || toolCalls.length === 0 ? text : null,
      ...(toolCalls.length ? { toolCalls } : {}),
    },
    finishReason: mapAnthropicStop(w.stop_reason, toolCalls.length > 0),
    usage: fromAnthropicUsage(w.usage),
  };
}

/** Maps `stop_reason`: `max_tokens` is `length`, `refusal` is `content_filter`, `tool_use` is `tool_calls` (unless only the JSON tool answered). */
export function mapAnthropicStop(reason: string | null | undefined, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'refusal':
      return 'content_filter';
    case 'tool_use':
      return hasToolCalls ? 'tool_calls' : 'stop';
    default:
      return hasToolCalls ? 'tool_calls' : 'stop';
  }
}

/**
 * Maps Anthropic's usage to rel's. Anthropic's `input_tokens` excludes cached tokens, whereas
 * rel's `inputTokens` counts every prompt token (cached ones as a subset, as OpenAI reports), so
 * cache reads and cache writes are added in and also reported on their own.
 */
export function fromAnthropicUsage(u: AnthropicUsage | null | undefined): Usage {
  const read = u?.cache_read_input_tokens ?? undefined;
  const created = u?.cache_creation_input_tokens ?? undefined;
  const usage: Usage = {
    inputTokens: (u?.input_tokens ?? 0) + (read ?? 0) + (created ?? 0),
    outputTokens: u?.output_tokens ?? 0,
  };
  if (read !== undefined) usage.cachedInputTokens = read;
  if (created !== undefined) usage.cacheCreationInputTokens = created;
  return usage;
}
