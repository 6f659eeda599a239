import type { AssistantMessage, ChatMessage } from '@rel/core';

type Part =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | { type: 'tool_call_response'; id: string; response: string };

function assistantParts(m: Pick<AssistantMessage, 'content' | 'toolCalls'>): Part[] {
  const parts: Part[] = m.content ? [{ type: 'text', content: m.content }] : [];
  for (const c of m.toolCalls ?? []) parts.push({ type: 'tool_call', id: c.id, name: c.name, arguments: c.arguments });
  return parts;
}

/**
 * `gen_ai.input.messages` as the GenAI conventions shape it (role plus typed parts), as JSON.
 * Only ever called when `captureContent` is on.
 */
export function inputMessagesJson(messages: readonly ChatMessage[]): string {
  return JSON.stringify(messages.map(inputMessage));
}

function inputMessage(m: ChatMessage): { role: string; parts: Part[] } {
  if (m.role === 'assistant') return { role: m.role, parts: assistantParts(m) };
  if (m.role === 'tool')
    return { role: m.role, parts: [{ type: 'tool_call_response', id: m.toolCallId, response: m.content }] };
  return { role: m.role, parts: [{ type: 'text', content: m.content }] };
}

/** `gen_ai.output.messages` for one answer, as JSON. Only ever called when `captureContent` is on. */
export function outputMessagesJson(
  message: Pick<AssistantMessage, 'content' | 'toolCalls'>,
  finishReason: string | undefined,
): string {
  return JSON.stringify([
    { role: 'assistant', parts: assistantParts(message), ...(finishReason ? { finish_reason: finishReason } : {}) },
  ]);
}
