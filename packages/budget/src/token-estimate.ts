import type { LlmRequest } from '@rel/core';
import { countTokens } from 'gpt-tokenizer';

/** An input-token estimate and the characters it was made from (for calibration). */
export interface TokenEstimate {
  readonly tokens: number;
  readonly chars: number;
  /** `tokenizer` for OpenAI-family models (exact BPE), `calibrated` for the others. */
  readonly method: 'tokenizer' | 'calibrated';
}

const OPENAI_FAMILY = /^(gpt-|o\d|chatgpt-|ft:gpt|text-|davinci|babbage|codex-)/i;
/** Tokens of framing per message and of reply priming, as OpenAI's chat format counts them. */
const PER_MESSAGE = 4;
const PRIMING = 3;
const DEFAULT_CHARS_PER_TOKEN = 4;
const MIN_CPT = 1.5;
const MAX_CPT = 8;

/** The model id without a `provider:` prefix. */
function bareModel(model: string): string {
  const colon = model.indexOf(':');
  return colon > 0 && !model.startsWith('ft:') ? model.slice(colon + 1) : model;
}

/** True for models tokenized with OpenAI's BPE encodings (`gpt-*`, `o1`, `o3`, `chatgpt-*`, ...). */
export function isOpenAiFamily(model: string): boolean {
  return OPENAI_FAMILY.test(bareModel(model));
}

/**
 * Estimates a request's input tokens: exactly with `gpt-tokenizer` (o200k) for OpenAI-family
 * models, and for the others from the character count divided by a characters-per-token ratio
 * that starts at 4 and is calibrated per model from the actual input tokens each call reports
 * (an exponential moving average, bounded to 1.5..8). In-process and bounded to 1,000 models.
 * @example
 * const est = new TokenEstimator();
 * const { tokens, chars } = est.estimate(req);
 * est.observe(req.model, chars, usage.inputTokens); // after the call
 */
export class TokenEstimator {
  readonly #ratios = new Map<string, number>();

  estimate(req: LlmRequest): TokenEstimate {
    const texts: string[] = [];
    for (const m of req.messages) {
      if (m.content) texts.push(m.content);
      if (m.role === 'assistant') for (const c of m.toolCalls ?? []) texts.push(c.name, c.arguments);
    }
    if (req.tools?.length) texts.push(JSON.stringify(req.tools));
    if (req.responseFormat?.type === 'json_schema') texts.push(JSON.stringify(req.responseFormat.schema));
    const chars = texts.reduce((n, t) => n + t.length, 0);
    const framing = req.messages.length * PER_MESSAGE + PRIMING;
    if (isOpenAiFamily(req.model)) {
      let tokens = framing;
      for (const t of texts) tokens += countTokens(t);
      return { tokens, chars, method: 'tokenizer' };
    }
    const ratio = this.#ratios.get(bareModel(req.model)) ?? DEFAULT_CHARS_PER_TOKEN;
    return { tokens: framing + Math.ceil(chars / ratio), chars, method: 'calibrated' };
  }

  /** Feeds back the actual input tokens of a call whose estimate was made from `chars` characters. */
  observe(model: string, chars: number, actualInputTokens: number): void {
    if (isOpenAiFamily(model) || chars < 200 || actualInputTokens <= 0) return;
    const key = bareModel(model);
    const sample = Math.min(MAX_CPT, Math.max(MIN_CPT, chars / actualInputTokens));
    const prev = this.#ratios.get(key);
    if (prev === undefined && this.#ratios.size >= 1000) this.#ratios.clear();
    this.#ratios.set(key, prev === undefined ? sample : prev * 0.8 + sample * 0.2);
  }

  /** The current characters-per-token ratio for a model (4 until calibrated). */
  ratio(model: string): number {
    return this.#ratios.get(bareModel(model)) ?? DEFAULT_CHARS_PER_TOKEN;
  }
}
