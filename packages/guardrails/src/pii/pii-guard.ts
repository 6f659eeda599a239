import { type ChatMessage, type Middleware, type StreamChunk, mapStream } from '@rel/core';
import { z } from 'zod';
import { recordGuardrail, stopwatch } from '../output/record-verdict';
import { createPiiDetector, PiiDetectorOptionsSchema } from './detect-pii';
import type { PiiType } from './pii-types';
import { PiiVault, type StreamRestorer } from './pii-vault';
import { replaceMatches, replacement } from './redact-pii';

/** Options of `piiGuard`. */
export const PiiGuardOptionsSchema = PiiDetectorOptionsSchema.extend({
  /**
   * `tokenize` (default): stable placeholders (`[EMAIL_1]`) restored in the answer; `redact`: typed
   * placeholders (`[EMAIL]`), not restored; `mask`: partial masks (`j***@example.com`).
   */
  mode: z.enum(['tokenize', 'redact', 'mask']).default('tokenize'),
  /** Restore placeholders in the answer (tokenize mode only). */
  restore: z.boolean().default(true),
  /**
   * Which messages are cleaned. Assistant turns are included by default: they may hold values
   * restored in an earlier turn, which must not reach the provider either.
   */
  roles: z
    .array(z.enum(['system', 'user', 'assistant', 'tool']))
    .min(1)
    .default(['system', 'user', 'assistant', 'tool']),
  /** The name recorded in verdicts and events. */
  name: z.string().min(1).default('pii'),
});
/** Options of `piiGuard`, as written by callers. */
export type PiiGuardOptions = z.input<typeof PiiGuardOptionsSchema>;

const jsonEscape = (value: string): string => JSON.stringify(value).slice(1, -1);

/**
 * Keeps personal data and secrets away from the provider. Before the request, every PII value in
 * the chosen messages (content and tool-call arguments) is replaced; in `tokenize` mode the answer
 * gets the original values back, in the completion and in the stream, even when a placeholder is
 * split across chunks (inside tool-call arguments the values are JSON-escaped). The mapping lives
 * in the closure of one request only; the verdict (`pii`, stage `input`, the types found, latency)
 * is recorded and emitted without any value.
 * @throws ZodError naming a bad option.
 * @example
 * const handler = compose(piiGuard({ mode: 'tokenize' }))(provider);
 * // the provider sees 'mail [EMAIL_1]'; the caller reads the real address in the answer
 */
export function piiGuard(options: PiiGuardOptions = {}): Middleware {
  const { mode, restore, roles, name, ...detectorOptions } = PiiGuardOptionsSchema.parse(options);
  const detect = createPiiDetector(detectorOptions);
  const cleaned = new Set<ChatMessage['role']>(roles);
  return (next) => async (req, ctx) => {
    const elapsed = stopwatch();
    // The vault is made at the first value found (a request without PII needs none), and then
    // reserves the placeholder-like strings of every message before it issues any placeholder.
    let vault: PiiVault | undefined;
    const vaultFor = (): PiiVault => {
      if (vault) return vault;
      vault = new PiiVault({ detector: detect });
      for (const msg of req.messages) if (msg.content) vault.reserve(msg.content);
      return vault;
    };
    let found: Set<PiiType> | undefined;
    const clean = (text: string): string => {
      const matches = detect(text);
      if (matches.length === 0) return text;
      found ??= new Set<PiiType>();
      for (const m of matches) found.add(m.type);
      if (mode === 'tokenize') {
        const v = vaultFor();
        return replaceMatches(text, matches, (m, value) => v.placeholderFor(m.type, value));
      }
      return replaceMatches(text, matches, (m, value) =>
        replacement(mode === 'mask' ? 'mask' : 'redact', m.type, value),
      );
    };
    // A message is copied only when something in it was replaced.
    let messages: ChatMessage[] | undefined;
    for (let i = 0; i < req.messages.length; i++) {
      const msg = req.messages[i]!;
      if (!cleaned.has(msg.role)) continue;
      let out: ChatMessage = msg;
      if (msg.role === 'assistant') {
        const content = msg.content === null ? null : clean(msg.content);
        let toolCalls = msg.toolCalls;
        if (toolCalls) {
          const args = toolCalls.map((c) => clean(c.arguments));
          if (args.some((a, k) => a !== toolCalls![k]!.arguments))
            toolCalls = toolCalls.map((c, k) => ({ ...c, arguments: args[k]! }));
        }
        if (content !== msg.content || toolCalls !== msg.toolCalls)
          out = { ...msg, content, ...(toolCalls ? { toolCalls } : {}) };
      } else {
        const content = clean(msg.content);
        if (content !== msg.content) out = { ...msg, content };
      }
      if (out !== msg) {
        messages ??= [...req.messages];
        messages[i] = out;
      }
    }
    recordGuardrail(ctx, {
      name,
      stage: 'input',
      action: found ? 'redact' : 'pass',
      categories: found ? [...found].sort() : [],
      latencyMs: elapsed(),
    });
    const response = await next(messages ? { ...req, messages } : req, ctx);
    if (!vault || !restore || vault.size === 0) return response;
    const held = vault;
    if (response.type === 'completion') {
      const message = response.message;
      return {
        ...response,
        message: {
          ...message,
          content: message.content === null ? null : held.restore(message.content),
          ...(message.toolCalls
            ? { toolCalls: message.toolCalls.map((c) => ({ ...c, arguments: held.restore(c.arguments, jsonEscape) })) }
            : {}),
        },
      };
    }
    return mapStream(response, (chunks) => restoreStream(chunks, held));
  };
}

async function* restoreStream(chunks: AsyncIterable<StreamChunk>, vault: PiiVault): AsyncIterable<StreamChunk> {
  const text = vault.streamRestorer();
  const args = new Map<number, StreamRestorer>();
  function* flushAll(): Iterable<StreamChunk> {
    const rest = text.flush();
    if (rest) yield { type: 'text-delta', text: rest };
    for (const [index, restorer] of args) {
      const tail = restorer.flush();
      if (tail) yield { type: 'tool-call-delta', index, argumentsDelta: tail };
    }
  }
  for await (const chunk of chunks) {
    if (chunk.type === 'text-delta') {
      const out = text.push(chunk.text);
      if (out) yield { type: 'text-delta', text: out };
    } else if (chunk.type === 'tool-call-delta' && chunk.argumentsDelta !== undefined) {
      let restorer = args.get(chunk.index);
      if (!restorer) args.set(chunk.index, (restorer = vault.streamRestorer(jsonEscape)));
      yield { ...chunk, argumentsDelta: restorer.push(chunk.argumentsDelta) };
    } else if (chunk.type === 'finish') {
      yield* flushAll();
      yield chunk;
    } else yield chunk;
  }
  yield* flushAll();
}
