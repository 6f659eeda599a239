import type { Cost, Usage } from '@rel/core';
import { CatalogCache } from './catalog-cache';
import type { Price } from './config';

/** Where warnings go; `console` by default. */
export interface BudgetLogger {
  warn(message: string): void;
}

/** Prices usage; see `createPricer`. */
export interface Pricer {
  /**
   * The cost of `usage` on the first of `models` whose price is known, and whether one was
   * (`false`: the default price was used, and a warning naming the first model logged once).
   */
  price(models: string | readonly string[], usage: Usage, provider?: string): { cost: Cost; known: boolean };
}

export interface PricerOptions {
  /** Per-model prices that override `@pydantic/genai-prices` (negotiated rates, self-hosted models). */
  prices?: Readonly<Record<string, Price>>;
  /** The price of an unknown model; a warning is logged once per model. Default $15 in / $75 out per MTok. */
  defaultPrice?: Price;
  logger?: BudgetLogger;
  /**
   * Most (provider, model) pairs whose catalog lookup is remembered (default 1,000; 0 turns the
   * cache off). A hit prices against the one model found; a miss skips the catalog altogether.
   */
  catalogCacheSize?: number;
}

const M = 1_000_000;
const FALLBACK_DEFAULT: Price = { inputPerMTok: 15, outputPerMTok: 75 };

/**
 * A pricer: first the config table (by exact model id, then without a `provider:` prefix), then
 * `@pydantic/genai-prices` (input, cached input, cache writes, output, and reasoning at the model's
 * reasoning rate where it has one, else as output), else the default price with a warning logged
 * once per model: never a silent zero. Usage follows rel's semantics: `inputTokens` counts every
 * prompt token with `cachedInputTokens` and `cacheCreationInputTokens` as parts of it (Anthropic's
 * usage is mapped so by `@rel/providers`), and `outputTokens` includes `reasoningTokens`.
 * @example
 * const pricer = createPricer({ prices: { 'llama-70b': { inputPerMTok: 0.2, outputPerMTok: 0.2 } } });
 * pricer.price('gpt-4o', { inputTokens: 1000, outputTokens: 200 }).cost.totalUsd // 0.0045
 */
export function createPricer(options: PricerOptions = {}): Pricer {
  const table = options.prices ?? {};
  const fallback = options.defaultPrice ?? FALLBACK_DEFAULT;
  const logger = options.logger ?? console;
  const warned = new Set<string>();
  const catalog = new CatalogCache(options.catalogCacheSize ?? 1000);
  return {
    price(models, usage, provider) {
      // One model (a string) is the common case: no array for it.
      const one = typeof models === 'string';
      const count = one ? 1 : models.length;
      for (let i = 0; i < count; i++) {
        const candidate = one ? models : (models[i] as string);
        // An exact id in the table needs no split (`table[id]` is only read when it misses).
        const exact = table[candidate];
        if (exact) return { cost: fromTable(exact, usage), known: true };
        const { id, providerId } = splitModel(candidate, provider);
        // Without a `provider:` prefix the id is the candidate, already looked up above.
        const own = id === candidate ? undefined : table[id];
        if (own) return { cost: fromTable(own, usage), known: true };
        const cost = catalog.price(id, usage, providerId);
        if (cost) return { cost, known: true };
      }
      const model = (one ? models : models[0]) ?? '(none)';
      if (!warned.has(model)) {
        if (warned.size >= 10_000) warned.clear();
        warned.add(model);
        logger.warn(
          `@rel/budget: no price known for model "${model}"; charging the default price ` +
            `($${fallback.inputPerMTok}/$${fallback.outputPerMTok} per MTok). Add it to \`prices\`.`,
        );
      }
      return { cost: fromTable(fallback, usage), known: false };
    },
  };
}

const shared = createPricer();

/**
 * The cost of one call's usage from `@pydantic/genai-prices`, or the default price (with a warning
 * logged once) for a model it does not know. Use `createPricer` to add or override prices.
 * @param model a model id such as `gpt-4o`, optionally as `provider:model`
 * @param provider a provider id such as `openai`, when known
 * @example priceUsage('gpt-4o', { inputTokens: 1_000_000, outputTokens: 0 }).totalUsd // 2.5
 */
export function priceUsage(model: string, usage: Usage, provider?: string): Cost {
  return shared.price(model, usage, provider).cost;
}

function splitModel(model: string, provider?: string): { id: string; providerId?: string } {
  const colon = model.indexOf(':');
  if (colon > 0 && !model.startsWith('ft:')) {
    return { id: model.slice(colon + 1), providerId: provider ?? model.slice(0, colon) };
  }
  return provider === undefined ? { id: model } : { id: model, providerId: provider };
}

function fromTable(p: Price, u: Usage): Cost {
  const cached = u.cachedInputTokens ?? 0;
  const written = u.cacheCreationInputTokens ?? 0;
  const reasoning = Math.min(u.reasoningTokens ?? 0, u.outputTokens);
  const plainInput = Math.max(0, u.inputTokens - cached - written);
  const inputUsd =
    (plainInput * p.inputPerMTok +
      cached * (p.cachedInputPerMTok ?? p.inputPerMTok) +
      written * (p.cacheWritePerMTok ?? p.inputPerMTok)) /
    M;
  const outputUsd =
    ((u.outputTokens - reasoning) * p.outputPerMTok + reasoning * (p.reasoningPerMTok ?? p.outputPerMTok)) / M;
  return { inputUsd, outputUsd, totalUsd: inputUsd + outputUsd };
}
