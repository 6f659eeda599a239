import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type Completion,
  type FinishReason,
  type Handler,
  type LlmRequest,
  type RelFailure,
  RelError,
  type ToolCall,
  isAbortError,
} from '@rel/core';
import { configError } from './config-error';

/** Where the cases are sent: an OpenAI-compatible URL or a module exporting a `Handler`. */
export interface ResolvedTarget {
  /** What reports show: the URL without credentials, or the module path as given. */
  readonly label: string;
  readonly handler: Handler;
}

/**
 * Resolves `--target`: an `http(s)://` URL is an OpenAI-compatible endpoint (such as the rel
 * gateway) called with `fetch`; anything else is a path to a module exporting `handler`, an
 * `@rel/core` `Handler`, imported from the working directory.
 * @throws RelError `invalid_request` when the module cannot be imported or exports no `handler`.
 * @example const { handler } = await resolveTarget('http://127.0.0.1:8080/v1', { apiKey: 'k' });
 */
export async function resolveTarget(
  target: string,
  options: { apiKey?: string | undefined; cwd?: string; fetch?: typeof fetch } = {},
): Promise<ResolvedTarget> {
  if (/^https?:\/\//i.test(target)) {
    const url = new URL(target);
    url.username = '';
    url.password = '';
    return { label: url.toString(), handler: httpTarget(target, options) };
  }
  const abs = resolve(options.cwd ?? process.cwd(), target);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw configError('--target', undefined, '', `cannot import ${target}: ${(e as Error).message}`, e);
  }
  if (typeof mod.handler !== 'function') {
    throw configError('--target', undefined, '', `${target} does not export a function named handler`);
  }
  return { label: target, handler: mod.handler as Handler };
}

/**
 * The chat-completions URL of an OpenAI-compatible base: `{url}/chat/completions` when it ends
 * with a version segment (`/v1`), the URL itself when it already ends with `/chat/completions`,
 * and `{url}/v1/chat/completions` otherwise.
 * @example chatCompletionsUrl('http://localhost:8080') // 'http://localhost:8080/v1/chat/completions'
 */
export function chatCompletionsUrl(base: string): string {
  const url = base.replace(/\/+$/, '');
  if (/\/chat\/completions$/.test(url)) return url;
  if (/\/v\d+[a-z]*$/i.test(url)) return `${url}/chat/completions`;
  return `${url}/v1/chat/completions`;
}

/**
 * A `Handler` that sends non-streaming chat completions to an OpenAI-compatible endpoint. The
 * request's `metadata` entries are sent as HTTP headers. No retries: an eval measures the target
 * as it is.
 * @example const handler = httpTarget('http://127.0.0.1:8080/v1', { apiKey: process.env.REL_EVAL_API_KEY });
 */
export function httpTarget(base: string, options: { apiKey?: string | undefined; fetch?: typeof fetch } = {}): Handler {
  const url = chatCompletionsUrl(base);
  const doFetch = options.fetch ?? globalThis.fetch;
  return async (req, ctx) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    for (const [k, v] of Object.entries(req.metadata ?? {})) headers[k] = v;
    headers['idempotency-key'] = ctx.idempotencyKey;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(toWireBody(req)), signal: ctx.signal });
      text = await res.text();
    } catch (e) {
      if (isAbortError(e) || ctx.signal.aborted) {
        // The run's own timeout (or cancel) travels as the abort reason; keep it.
        if (RelError.is(ctx.signal.reason)) throw ctx.signal.reason;
        throw new RelError({ kind: 'timeout', phase: 'total' }, { cause: e });
      }
      const code = (e as { cause?: { code?: string } }).cause?.code;
      throw new RelError(
        { kind: 'provider_unavailable', ...(code ? { code } : {}) },
        { message: `cannot reach ${url}: ${code ?? (e as Error).message}`, cause: e },
      );
    }
    if (!res.ok) throw httpFailure(res.status, text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new RelError({ kind: 'provider_error', status: res.status, body: text.slice(0, 500) }, { cause: e });
    }
    return fromWire(json, req.model, text);
  };
}

function toWireBody(req: LlmRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: req.model,
    messages: req.messages.map((m) => {
      if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
      if (m.role === 'assistant' && m.toolCalls?.length) {
        return {
          role: 'assistant',
          content: m.content,
          tool_calls: m.toolCalls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.arguments },
          })),
        };
      }
      return { role: m.role, content: m.content };
    }),
  };
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  const rf = req.responseFormat;
  if (rf?.type === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: rf.name, schema: rf.schema, ...(rf.strict === undefined ? {} : { strict: rf.strict }) },
    };
  } else if (rf) body.response_format = { type: rf.type };
  return body;
}

interface WireCompletion {
  id?: string;
  model?: string;
  choices?: Array<{
    finish_reason?: string | null;
    message?: {
      content?: string | null;
      tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> | null;
    };
  }>;
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
  } | null;
}

function fromWire(json: unknown, requestedModel: string, raw: string): Completion {
  const body = json as WireCompletion;
  const choice = typeof json === 'object' && json !== null ? body.choices?.[0] : undefined;
  if (!choice?.message) {
    throw new RelError(
      { kind: 'provider_error', status: 200, body: raw.slice(0, 500) },
      { message: 'not a chat completion' },
    );
  }
  const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).map((c, i) => ({
    id: c.id || `call_${i}`,
    name: c.function?.name || 'unknown',
    arguments: c.function?.arguments ?? '',
  }));
  const finish = choice.finish_reason;
  const finishReason: FinishReason =
    finish === 'length' || finish === 'tool_calls' || finish === 'content_filter' ? finish : 'stop';
  const cached = body.usage?.prompt_tokens_details?.cached_tokens;
  return {
    type: 'completion',
    id: body.id ?? '',
    requestedModel,
    model: body.model ?? requestedModel,
    message: {
      role: 'assistant',
      content: choice.message.content ?? null,
      ...(toolCalls.length ? { toolCalls } : {}),
    },
    finishReason,
    usage: {
      inputTokens: body.usage?.prompt_tokens ?? 0,
      outputTokens: body.usage?.completion_tokens ?? 0,
      ...(typeof cached === 'number' ? { cachedInputTokens: cached } : {}),
    },
  };
}

function httpFailure(status: number, text: string): RelError {
  let message = text.slice(0, 300);
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } };
    if (parsed.error?.message) message = parsed.error.message;
  } catch {
    // not JSON: keep the text
  }
  let failure: RelFailure;
  if (status === 429) failure = { kind: 'rate_limited', status };
  else if (status === 401 || status === 403) failure = { kind: 'unauthorized', origin: 'client', status };
  else if (status >= 500 || status === 408) failure = { kind: 'provider_unavailable', status };
  else if (status >= 400) failure = { kind: 'invalid_request', status };
  else failure = { kind: 'provider_error', status, body: text.slice(0, 500) };
  return new RelError(failure, { message: `HTTP ${status}: ${message}` });
}
