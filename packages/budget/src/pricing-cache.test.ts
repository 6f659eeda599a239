import { updatePrices } from '@pydantic/genai-prices';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPricer } from './pricing';

// genai-prices calls an `onCalc` hook on every calcPrice: it counts the catalog lookups here.
let lookups = 0;
beforeAll(() => {
  updatePrices(({ onCalc }) => onCalc(() => lookups++));
});
afterAll(() => {
  updatePrices(({ onCalc }) => onCalc(() => {}));
});
const usage = { inputTokens: 1000, outputTokens: 100 };

describe('the catalog lookup cache', () => {
  it('looks a model the catalog lacks up once per (provider, model), charges the default and still warns once', () => {
    const warnings: string[] = [];
    const pricer = createPricer({ logger: { warn: (m) => warnings.push(m) } });
    const before = lookups;
    const first = pricer.price('gpt-primary-2024-08-06', usage, 'openai');
    const afterFirst = lookups;
    for (let i = 0; i < 5; i++) expect(pricer.price('gpt-primary-2024-08-06', usage, 'openai')).toEqual(first);
    expect(first.known).toBe(false);
    expect(afterFirst - before).toBe(2); // with the provider, then without
    expect(lookups).toBe(afterFirst);
    expect(warnings).toHaveLength(1);
    // Another provider is another pair.
    pricer.price('gpt-primary-2024-08-06', usage, 'azure');
    expect(lookups).toBeGreaterThan(afterFirst);
    expect(warnings).toHaveLength(1);
  });

  it('is bounded: past its size the oldest pair is forgotten and looked up again', () => {
    const pricer = createPricer({ catalogCacheSize: 2, logger: { warn: () => {} } });
    for (const m of ['acme-a', 'acme-b', 'acme-c']) pricer.price(m, usage);
    let before = lookups;
    pricer.price('acme-c', usage);
    pricer.price('acme-b', usage);
    expect(lookups).toBe(before); // the two newest are remembered
    before = lookups;
    pricer.price('acme-a', usage);
    expect(lookups).toBe(before + 1); // the oldest was forgotten
  });

  it('prices every model, cached or not, exactly as the uncached catalog does, whatever the usage', () => {
    const cached = createPricer({ logger: { warn: () => {} } });
    const uncached = createPricer({ catalogCacheSize: 0, logger: { warn: () => {} } });
    const models: [string, string | undefined][] = [
      ['gpt-4o', undefined],
      ['gpt-4o-2024-08-06', 'openai'],
      ['openai:gpt-4o-mini', undefined],
      ['claude-sonnet-4-20250514', 'anthropic'],
      ['anthropic:claude-3-5-haiku-20241022', undefined],
      ['claude-sonnet-4-20250514', undefined],
      ['perplexity:sonar-deep-research', undefined],
      ['gemini-2.5-pro', 'google'],
      ['gemini-2.5-pro', undefined],
      ['deepseek-chat', 'deepseek'],
      ['openai/gpt-4o', 'litellm'],
      ['not-a-model', 'openai'],
    ];
    const tokens = fc.integer({ min: 0, max: 400_000 });
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        fc.record({ inputTokens: tokens, outputTokens: tokens, cachedInputTokens: tokens, reasoningTokens: tokens }),
        ([model, provider], u) => {
          const want = uncached.price(model, u, provider);
          expect(cached.price(model, u, provider)).toEqual(want);
          expect(cached.price(model, u, provider)).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});
