import type { LlmRequest } from '@rel/core';
import { countTokens } from 'gpt-tokenizer';

/** An input-token estimate and the characters it was made from (for calibration). */
export interface TokenEstimate {
  readonly tokens: number;
  readonly chars: number;
  /** `tokenizer` for OpenAI-family models (exact BPE), `calibrated` for the others. */
  readonly method: 'tokenizer' | 'calibrated';
}

/**
 * Special-token text in a prompt (`<|endoftext|>`, `<|im_start|>`) is counted as the plain text it
 * is: the API encodes user text without special tokens, and the tokenizer would throw by default.
 */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

const OPENAI_FAMILY = /^(gpt-|o\d|chatgpt-|ft:gpt|text-|davinci|babbage|codex-)/i;
/** Tokens of framing per message and of reply priming, as OpenAI's chat format counts them. */
const PER_MESSAGE = 4;
const PRIMING = 3;
const DEFAULT_CHARS_PER_TOKEN = 4;
const MIN_CPT = 1.5;
const MAX_CPT = 8;
/**
 * Texts at least this long have their token count remembered: a system prompt or tool list sent
 * with every request is tokenized once (a hash lookup costs about a thirtieth of BPE on 2k chars),
 * while short texts, cheaper to count than to hash and keep, are always counted.
 */
const CACHE_MIN_CHARS = 256;
/** Longest text kept, and most texts: at most ~1 MiB of remembered text. */
const CACHE_MAX_CHARS = 16_384;
const CACHE_ENTRIES = 64;

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
 * Token counts of long texts (a system prompt, a tool list: 256 to 16k characters) are remembered,
 * the 64 most recently used, so a prompt repeated on every request is tokenized once.
 * @example
 * const est = new TokenEstimator();
 * const { tokens, chars } = est.estimate(req);
 * est.observe(req.model, chars, usage.inputTokens); // after the call
 */
export class TokenEstimator {
  readonly #ratios = new Map<string, number>();
  /** text -> BPE token count, least recently used first; see CACHE_MIN_CHARS. */
  readonly #counts = new Map<string, number>();

  estimate(req: LlmRequest): TokenEstimate {
    const bpe = isOpenAiFamily(req.model);
    let chars = 0;
    let tokens = 0;
    // Inline, not a closure per request: each text adds its length, and its BPE count when `bpe`.
    for (const m of req.messages) {
      if (m.content) {
        chars += m.content.length;
        if (bpe) tokens += this.#count(m.content);
      }
      if (m.role === 'assistant' && m.toolCalls) {
        for (const c of m.toolCalls) {
          chars += c.name.length + c.arguments.length;
          if (bpe) tokens += this.#count(c.name) + this.#count(c.arguments);
        }
      }
    }
    if (req.tools?.length) {
      const t = JSON.stringify(req.tools);
      chars += t.length;
      if (bpe) tokens += this.#count(t);
    }
    if (req.responseFormat?.type === 'json_schema') {
      const t = JSON.stringify(req.responseFormat.schema);
      chars += t.length;
      if (bpe) tokens += this.#count(t);
    }
    const framing = req.messages.length * PER_MESSAGE + PRIMING;
    if (bpe) return { tokens: framing + tokens, chars, method: 'tokenizer' };
    const ratio = this.#ratios.get(bareModel(req.model)) ?? DEFAULT_CHARS_PER_TOKEN;
    return { tokens: framing + Math.ceil(chars / ratio), chars, method: 'calibrated' };
  }

  /** How many texts have their token count remembered (at most 64), for tests and diagnostics. */
  get cachedTexts(): number {
    return this.#counts.size;
  }

  /** `countTokens`, remembered for long texts (bounded, least recently used evicted). */
  #count(text: string): number {
    if (text.length < CACHE_MIN_CHARS || text.length > CACHE_MAX_CHARS) return countTokens(text, PLAIN_TEXT);
    const known = this.#counts.get(text);
    if (known !== undefined) {
      this.#counts.delete(text);
      this.#counts.set(text, known);
      return known;
    }
    const n = countTokens(text, PLAIN_TEXT);
    if (this.#counts.size >= CACHE_ENTRIES) this.#counts.delete(this.#counts.keys().next().value as string);
    this.#counts.set(text, n);
    return n;
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
