import { describe, expect, it } from 'vitest';
import { createPricer, priceUsage } from './pricing';

describe('pricing', () => {
  it('prices a known model from @pydantic/genai-prices, cached input at its own rate', () => {
    const cost = priceUsage('gpt-4o', { inputTokens: 1_000_000, outputTokens: 1_000_000, cachedInputTokens: 500_000 });
    expect(cost.inputUsd).toBeCloseTo(0.5 * 2.5 + 0.5 * 1.25, 9);
    expect(cost.outputUsd).toBeCloseTo(10, 9);
    expect(cost.totalUsd).toBeCloseTo(11.875, 9);
  });

  it('understands provider:model ids and an explicit provider', () => {
    const usage = { inputTokens: 1000, outputTokens: 100 };
    expect(priceUsage('openai:gpt-4o-mini', usage).totalUsd).toBeCloseTo(priceUsage('gpt-4o-mini', usage).totalUsd, 12);
    expect(priceUsage('gpt-4o-mini', usage, 'openai').totalUsd).toBeGreaterThan(0);
  });

  it('lets the config table override a catalog price and add a self-hosted model, reasoning priced apart', () => {
    const pricer = createPricer({
      prices: {
        'gpt-4o': { inputPerMTok: 1, outputPerMTok: 2 },
        'llama-70b': { inputPerMTok: 0.5, outputPerMTok: 1, reasoningPerMTok: 3, cachedInputPerMTok: 0.1 },
      },
    });
    expect(pricer.price('gpt-4o', { inputTokens: 1_000_000, outputTokens: 1_000_000 }).cost.totalUsd).toBe(3);
    const { cost, known } = pricer.price('llama-70b', {
      inputTokens: 1_000_000,
      cachedInputTokens: 1_000_000,
      outputTokens: 2_000_000,
      reasoningTokens: 1_000_000,
    });
    expect(known).toBe(true);
    expect(cost.inputUsd).toBeCloseTo(0.1, 12);
    expect(cost.outputUsd).toBeCloseTo(1 + 3, 12);
  });

  it('charges an unknown model the default price and warns once per model, never a silent zero', () => {
    const warnings: string[] = [];
    const pricer = createPricer({
      defaultPrice: { inputPerMTok: 10, outputPerMTok: 20 },
      logger: { warn: (m) => warnings.push(m) },
    });
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    const first = pricer.price('acme-secret-model', usage);
    pricer.price('acme-secret-model', usage);
    expect(first).toEqual({ cost: { inputUsd: 10, outputUsd: 20, totalUsd: 30 }, known: false });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('acme-secret-model');
  });

  it('tries each candidate model before falling back (an alias, then the model that answered)', () => {
    const warnings: string[] = [];
    const pricer = createPricer({ logger: { warn: (m) => warnings.push(m) } });
    const r = pricer.price(['my-alias', 'gpt-4o'], { inputTokens: 1_000_000, outputTokens: 0 });
    expect(r.known).toBe(true);
    expect(r.cost.totalUsd).toBeCloseTo(2.5, 9);
    expect(warnings).toEqual([]);
  });

  it('gpt-4o against a hand-computed bill: cached input at $1.25, the rest at $2.50, reasoning billed as output', () => {
    // OpenAI semantics: prompt_tokens includes the cached ones; completion_tokens includes reasoning.
    const cost = priceUsage('gpt-4o', {
      inputTokens: 1_000_000,
      cachedInputTokens: 400_000,
      outputTokens: 1_000_000,
      reasoningTokens: 300_000,
    });
    // 600k x $2.50 + 400k x $1.25 = $1.50 + $0.50; 1M output x $10 (reasoning included, not added).
    expect(cost.inputUsd).toBeCloseTo(2, 12);
    expect(cost.outputUsd).toBeCloseTo(10, 12);
    expect(cost.totalUsd).toBeCloseTo(12, 12);
  });

  it('a Claude model against a hand-computed bill, with usage as @rel/providers reports it (cache reads and writes inside inputTokens, counted once)', () => {
    // Anthropic answered input_tokens 500k, cache_read_input_tokens 400k, cache_creation_input_tokens
    // 100k, output_tokens 200k; @rel/providers reports inputTokens as their sum, the parts beside it.
    const usage = {
      inputTokens: 1_000_000,
      cachedInputTokens: 400_000,
      cacheCreationInputTokens: 100_000,
      outputTokens: 200_000,
    };
    // 500k x $3 + 400k x $0.30 + 100k x $3.75 = $1.50 + $0.12 + $0.375; 200k x $15 = $3.
    for (const model of ['claude-sonnet-4-20250514', 'anthropic:claude-sonnet-4-20250514']) {
      const cost = priceUsage(model, usage);
      expect(cost.inputUsd).toBeCloseTo(1.995, 12);
      expect(cost.outputUsd).toBeCloseTo(3, 12);
      expect(cost.totalUsd).toBeCloseTo(4.995, 12);
    }
    expect(priceUsage('claude-sonnet-4-20250514', usage, 'anthropic').totalUsd).toBeCloseTo(4.995, 12);
  });

  it('the config table follows the same semantics: cache reads and writes are parts of inputTokens', () => {
    const pricer = createPricer({
      prices: { mine: { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3, cacheWritePerMTok: 3.75 } },
    });
    const { cost } = pricer.price('mine', {
      inputTokens: 1_000_000,
      cachedInputTokens: 400_000,
      cacheCreationInputTokens: 100_000,
      outputTokens: 200_000,
    });
    expect(cost.inputUsd).toBeCloseTo(1.995, 12);
    expect(cost.totalUsd).toBeCloseTo(4.995, 12);
  });

  it('prices reasoning tokens at the catalog reasoning rate where a model has one', () => {
    // Perplexity's sonar-deep-research: input $2, output $8, reasoning $3 per MTok.
    const cost = priceUsage('perplexity:sonar-deep-research', {
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
      reasoningTokens: 400_000,
    });
    // $2 + 600k x $8 + 400k x $3 = $2 + $4.80 + $1.20.
    expect(cost.totalUsd).toBeCloseTo(8, 12);
  });
});
