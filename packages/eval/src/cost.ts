import type { Usage } from '@rel/core';
import type { Price } from './golden-set-schema';

/**
 * The USD cost of one completion's usage from a per-million-token price table. The price is
 * looked up by the model that answered first (its exact version), then by the model asked for.
 * Cached input tokens are billed at `cachedInput` when the table has it.
 * @returns the cost, or `undefined` when neither model has a price.
 * @example costOf({ inputTokens: 1000, outputTokens: 100 }, ['gpt-demo'], { 'gpt-demo': { input: 2, output: 8 } }) // 0.0028
 */
export function costOf(
  usage: Usage,
  models: readonly string[],
  prices: Readonly<Record<string, Price>>,
): number | undefined {
  const price = models.map((m) => (Object.hasOwn(prices, m) ? prices[m] : undefined)).find((p) => p !== undefined);
  if (!price) return undefined;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const fresh = usage.inputTokens - cached;
  const micro = fresh * price.input + cached * (price.cachedInput ?? price.input) + usage.outputTokens * price.output;
  return micro / 1_000_000;
}
