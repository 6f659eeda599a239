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
});
