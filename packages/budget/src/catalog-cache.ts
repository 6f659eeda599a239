import { type Provider, calcPrice } from '@pydantic/genai-prices';
import type { Cost, Usage } from '@rel/core';

/**
 * `@pydantic/genai-prices` with its model search remembered. `calcPrice` finds the provider, then
 * matches the model against every model of it (and, without a provider, every provider), on each
 * call: for a model it does not know, the whole catalog. The result of that search depends only on
 * (provider, model), so it is kept per pair, bounded (the oldest pair is forgotten first): a miss as
 * such, a hit as a one-model provider that `calcPrice` prices directly, still at the call's time
 * (prices with a date or time-of-day constraint stay right). A cached hit that no longer prices
 * falls back to the full search. Internal to the package (used by `createPricer`).
 * @example
 * const catalog = new CatalogCache(1000);
 * catalog.price('gpt-4o', { inputTokens: 1000, outputTokens: 100 }, 'openai')?.totalUsd;
 */
export class CatalogCache {
  readonly #max: number;
  /**
   * provider id (`''` without one) -> model -> the provider narrowed to the matched model, or null
   * for "not in the catalog". Two levels, so a lookup builds no `provider\0model` key string.
   */
  readonly #found = new Map<string, Map<string, Provider | null>>();
  /** `provider\0model` -> its two parts, oldest remembered first: the eviction order. */
  readonly #order = new Map<string, readonly [string, string]>();

  constructor(max: number) {
    this.#max = max;
  }

  price(model: string, u: Usage, providerId?: string): Cost | undefined {
    const provider = providerId ?? '';
    const cached = this.#found.get(provider)?.get(model);
    if (cached === null) return undefined;
    const usage = toCatalogUsage(u);
    try {
      if (cached) {
        const hit = calcPrice(usage, model, { provider: cached });
        if (hit) return toCost(hit);
      }
      const result = (providerId ? calcPrice(usage, model, { providerId }) : null) ?? calcPrice(usage, model);
      this.#remember(provider, model, result ? narrow(result.provider, result.model) : null);
      return result ? toCost(result) : undefined;
    } catch {
      return undefined;
    }
  }

  #remember(provider: string, model: string, value: Provider | null): void {
    if (this.#max <= 0) return;
    const key = `${provider}\0${model}`;
    this.#order.delete(key);
    if (this.#order.size >= this.#max) {
      const [oldest, parts] = this.#order.entries().next().value as [string, readonly [string, string]];
      this.#order.delete(oldest);
      const models = this.#found.get(parts[0]);
      models?.delete(parts[1]);
      if (models?.size === 0) this.#found.delete(parts[0]);
    }
    this.#order.set(key, [provider, model]);
    let models = this.#found.get(provider);
    if (!models) {
      models = new Map();
      this.#found.set(provider, models);
    }
    models.set(model, value);
  }
}

/** The provider with only `model`: `calcPrice` copies a provider passed in, so keep it small. */
function narrow(provider: Provider, model: Provider['models'][number]): Provider {
  const { fallback_model_providers: _, models: __, ...rest } = provider;
  return { ...rest, models: [model] };
}

function toCost(r: { input_price: number; output_price: number; total_price: number }): Cost {
  return { inputUsd: r.input_price, outputUsd: r.output_price, totalUsd: r.total_price };
}

/**
 * genai-prices counts like rel: `input_tokens` is every prompt token, cache reads and writes are
 * parts of it; `output_tokens` includes reasoning, priced at the model's reasoning rate where it
 * has one (else as output).
 */
function toCatalogUsage(u: Usage): Record<string, number> {
  const usage: Record<string, number> = { input_tokens: u.inputTokens, output_tokens: u.outputTokens };
  if (u.reasoningTokens) usage.output_reasoning_tokens = Math.min(u.reasoningTokens, u.outputTokens);
  if (u.cachedInputTokens) usage.cache_read_tokens = Math.min(u.cachedInputTokens, u.inputTokens);
  if (u.cacheCreationInputTokens) {
    usage.cache_write_tokens = Math.min(u.cacheCreationInputTokens, u.inputTokens - (usage.cache_read_tokens ?? 0));
  }
  return usage;
}
