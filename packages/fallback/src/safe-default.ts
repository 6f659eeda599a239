import { type Completion, type LlmRequest, type ResponseFormat, zeroUsage } from '@rel/core';
import { z } from 'zod';
import { checkJsonSchema } from './json-schema-check';

/**
 * A feature's static safe response for hard failures: plain `text`, or a `json` value. With
 * `schema`, the JSON is checked against it when the options are parsed.
 */
export const SafeDefaultSchema = z
  .union([
    z.strictObject({ text: z.string() }),
    z.strictObject({ json: z.unknown(), schema: z.record(z.string(), z.unknown()).optional() }),
  ])
  .superRefine((value, ctx) => {
    if (!('json' in value)) return;
    if (value.json === undefined) ctx.addIssue({ code: 'custom', message: 'json must be set', path: ['json'] });
    if (value.schema === undefined) return;
    for (const issue of checkJsonSchema(value.json, value.schema))
      ctx.addIssue({ code: 'custom', message: `does not match schema: ${issue}`, path: ['json'] });
  });

/** A safe default as configured. */
export type SafeDefault = z.infer<typeof SafeDefaultSchema>;

/** The model name a safe-default answer carries, so telemetry and callers can tell it apart. */
export const SAFE_DEFAULT_MODEL = 'rel-safe-default';

/**
 * The completion a safe default answers with for `req`, checked against the request's response
 * format; `issues` when it would not be valid (it is then not returned).
 * @example safeDefaultAnswer({ text: 'Try again later.' }, req) // { ok: true, completion: { model: 'rel-safe-default', ... } }
 */
export function safeDefaultAnswer(
  def: SafeDefault,
  req: LlmRequest,
): { ok: true; completion: Completion } | { ok: false; issues: string[] } {
  const content = 'text' in def ? def.text : JSON.stringify(def.json);
  const issues = checkFormat(content, req.responseFormat);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, completion: staticCompletion(content, SAFE_DEFAULT_MODEL, req.model) };
}

/** A zero-usage completion served by rel itself (never billed as a provider completion). */
export function staticCompletion(content: string, model: string, requestedModel: string): Completion {
  return {
    type: 'completion',
    id: model,
    requestedModel,
    model,
    provider: 'rel',
    message: { role: 'assistant', content },
    finishReason: 'stop',
    usage: zeroUsage,
  };
}

function checkFormat(content: string, format: ResponseFormat | undefined): string[] {
  if (!format || format.type === 'text') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return ['$: not valid JSON'];
  }
  if (format.type === 'json_object')
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? [] : ['$: expected object'];
  return checkJsonSchema(parsed, format.schema);
}
