import { type ChatMessage, type GuardrailAction, type Middleware, RelError } from '@rel/core';
import { z } from 'zod';
import { recordGuardrail } from '../output/record-verdict';
import { type InjectionModel, type SerializedModel, decodeModel } from './classifier';
import { type DetectOptions, type InjectionProfile, detectInjection } from './detect';
import type { InjectionCategory } from './signatures';
import { UNTRUSTED_NOTICE, wrapUntrusted } from './untrusted';

/** Options of `injectionGuard`. */
export const InjectionGuardOptionsSchema = z.strictObject({
  /** `block` rejects the request, `sanitize` removes the offending spans, `flag` only records. */
  policy: z.enum(['block', 'sanitize', 'flag']).default('block'),
  /** Profile for the user's own messages. */
  profile: z.enum(['default', 'strict']).default('default'),
  /** Profile for untrusted content: `tool` messages and user messages marked `untrusted: true`. */
  untrustedProfile: z.enum(['default', 'strict']).default('strict'),
  /** Which messages to scan. System and assistant messages are the application's own. */
  scanRoles: z.array(z.enum(['user', 'tool', 'system', 'assistant'])).default(['user', 'tool']),
  /** Wrap untrusted content in `<untrusted_data>` blocks and tell the model, in the system prompt, to treat it as data. */
  wrapUntrusted: z.boolean().default(true),
  /** Verdict and event name. */
  name: z.string().min(1).default('injection'),
});

/** Options of `injectionGuard`, as accepted (all optional). */
export type InjectionGuardOptions = z.input<typeof InjectionGuardOptionsSchema> & {
  /** Weights other than the shipped ones (as produced by the training script). */
  model?: SerializedModel | InjectionModel;
};

const REMOVED = '[removed]';

function isUntrusted(m: ChatMessage): boolean {
  return m.role === 'tool' || (m.role === 'user' && m.untrusted === true);
}

/** Removes `spans` (original offsets, possibly overlapping) from `text`. */
export function removeSpans(text: string, spans: readonly { start: number; end: number }[]): string {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const s of sorted) {
    if (s.end <= at) continue;
    out += text.slice(at, Math.max(at, s.start)) + (s.start >= at ? REMOVED : '');
    at = Math.max(at, s.end);
  }
  return out + text.slice(at);
}

/**
 * A middleware that scans the request's messages for prompt injection before the call: the user's
 * messages with `profile`, untrusted content (tool results, user messages marked `untrusted`)
 * with the stricter `untrustedProfile`, which it also wraps as data. It records one verdict
 * (`name`, stage `input`, action, categories, score, latency) and emits a `guardrail` event; no
 * prompt text goes into either.
 *
 * @param options See `InjectionGuardOptionsSchema`; parsed once, here.
 * @throws RelError `guardrail_blocked` (stage `input`) from the handler when `policy` is `block`
 * and a message is flagged; a ZodError at once for a bad option.
 * @example
 * const handler = compose(injectionGuard({ policy: 'sanitize' }), retry())(provider);
 */
export function injectionGuard(options: InjectionGuardOptions = {}): Middleware {
  const { model: modelOption, ...rest } = options;
  const opts = InjectionGuardOptionsSchema.parse(rest);
  const model =
    modelOption === undefined ? undefined : 'format' in modelOption ? decodeModel(modelOption) : modelOption;
  const scan = new Set<string>(opts.scanRoles);
  // The detection options of each profile, built once.
  const detectOptions = (profile: InjectionProfile): DetectOptions => ({ profile, ...(model ? { model } : {}) });
  const userOptions = detectOptions(opts.profile);
  const untrustedOptions = detectOptions(opts.untrustedProfile);

  const policy = opts.policy;
  const wrap = opts.wrapUntrusted;
  return (next) => async (req, ctx) => {
    const started = performance.now();
    // Made when a message is flagged: most requests have no category to collect.
    let categories: Set<InjectionCategory> | undefined;
    let score = 0;
    let anyUntrusted = false;
    // The messages as sent on: a copy made at the first message that changes.
    const original = req.messages;
    let messages: ChatMessage[] | undefined;
    for (let i = 0; i < original.length; i++) {
      const m = original[i]!;
      const untrusted = isUntrusted(m);
      anyUntrusted ||= untrusted;
      const content = m.content ?? '';
      let out = content;
      if (scan.has(m.role) && content !== '') {
        const result = detectInjection(content, untrusted ? untrustedOptions : userOptions);
        score = Math.max(score, result.score);
        if (result.flagged) {
          categories ??= new Set();
          for (const c of result.categories) categories.add(c);
          if (policy === 'sanitize') out = removeSpans(content, result.spans);
        }
      }
      if (untrusted && wrap) out = wrapUntrusted(out, m.role === 'tool' ? 'tool' : 'user');
      if (out !== content) {
        messages ??= original.slice(0, i);
        messages.push({ ...m, content: out } as ChatMessage);
      } else messages?.push(m);
    }

    const flagged = categories !== undefined;
    const action: GuardrailAction = !flagged ? 'pass' : policy;
    recordGuardrail(ctx, {
      name: opts.name,
      stage: 'input',
      action,
      categories: flagged ? [...categories!].sort() : [],
      score,
      latencyMs: performance.now() - started,
    });
    if (flagged && policy === 'block') {
      const failure = {
        kind: 'guardrail_blocked',
        stage: 'input',
        guardrail: opts.name,
        categories: [...categories!].sort(),
      } as const;
      throw new RelError(failure, { cause: new Error(`prompt injection detected (${failure.categories.join(', ')})`) });
    }
    if (anyUntrusted && wrap) return next({ ...req, messages: withNotice(messages ?? original) }, ctx);
    // Nothing removed or wrapped: the request goes on as it came.
    return next(messages ? { ...req, messages } : req, ctx);
  };
}

function withNotice(messages: readonly ChatMessage[]): ChatMessage[] {
  const i = messages.findIndex((m) => m.role === 'system');
  if (i < 0) return [{ role: 'system', content: UNTRUSTED_NOTICE }, ...messages];
  const sys = messages[i]!;
  const copy = [...messages];
  copy[i] = { role: 'system', content: `${sys.content ?? ''}\n\n${UNTRUSTED_NOTICE}` };
  return copy;
}
