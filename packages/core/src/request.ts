import { z } from 'zod';

/** A tool the model may call, described by a JSON Schema for its arguments. */
export const ToolDefinitionSchema = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()),
  strict: z.boolean().optional(),
});
export type ToolDefinition = z.infer<typeof ToolDefinitionSchema>;

/** A tool call made by the model; `arguments` is the raw JSON text the model produced. */
export const ToolCallSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

/** Instructions from the application. */
export const SystemMessageSchema = z.strictObject({
  role: z.literal('system'),
  content: z.string(),
});
/** A message from the end user. */
export const UserMessageSchema = z.strictObject({
  role: z.literal('user'),
  content: z.string(),
  /** Marks content from outside the trust boundary (retrieved documents, pasted mail). */
  untrusted: z.boolean().optional(),
});
/** A model answer: text, tool calls, or both (`content: null` with tool calls only). */
export const AssistantMessageSchema = z.strictObject({
  role: z.literal('assistant'),
  content: z.string().nullable(),
  toolCalls: z.array(ToolCallSchema).optional(),
});
/** The result of a tool call, matched to it by `toolCallId`. */
export const ToolMessageSchema = z.strictObject({
  role: z.literal('tool'),
  toolCallId: z.string().min(1),
  content: z.string(),
});

/** One chat message. Content is text; tool results are always treated as untrusted. */
export const ChatMessageSchema = z.discriminatedUnion('role', [
  SystemMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;
export type SystemMessage = z.infer<typeof SystemMessageSchema>;
export type UserMessage = z.infer<typeof UserMessageSchema>;
export type AssistantMessage = z.infer<typeof AssistantMessageSchema>;
export type ToolMessage = z.infer<typeof ToolMessageSchema>;

/** How the model must shape its answer; `json_schema` carries the schema to validate against. */
export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().optional(),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

/** Whether the model may, must or must not call tools, or which one it must call. */
export const ToolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.strictObject({ name: z.string().min(1) }),
]);
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;

/**
 * A provider-neutral chat request. `model` is what the caller asked for (an alias or a provider
 * model id); routing layers rewrite it per target.
 */
export const LlmRequestSchema = z.strictObject({
  model: z.string().min(1).max(256),
  messages: z.array(ChatMessageSchema).min(1),
  tools: z.array(ToolDefinitionSchema).optional(),
  toolChoice: ToolChoiceSchema.optional(),
  responseFormat: ResponseFormatSchema.optional(),
  maxTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  stop: z.array(z.string()).max(4).optional(),
  stream: z.boolean().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type LlmRequest = z.infer<typeof LlmRequestSchema>;
