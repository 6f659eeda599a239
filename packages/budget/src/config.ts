import { z } from 'zod';

/** Names of the limits a scope can carry; each may choose its own fail mode. */
export const LIMIT_NAMES = ['rpm', 'rpd', 'tpm', 'tpd', 'concurrent', 'spendPerDayUsd', 'spendPerMonthUsd'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

const count = z.number().int().positive();
const usd = z.number().nonnegative().finite();

/**
 * The limits of one scope. `rpm`/`rpd` are GCRA rates (requests per minute/day); `tpm`/`tpd` are
 * sliding windows of tokens (reserved, then settled with the actual count); `concurrent` counts
 * requests in flight; the spend limits are sliding windows of USD over 24 h and 30 days.
 */
export const LimitsSchema = z.strictObject({
  rpm: count.optional(),
  rpd: count.optional(),
  tpm: count.optional(),
  tpd: count.optional(),
  concurrent: count.optional(),
  spendPerDayUsd: usd.optional(),
  spendPerMonthUsd: usd.optional(),
});
export type Limits = z.infer<typeof LimitsSchema>;

/** A tier: limits for the account (the org, or a user without an org) and optional `perUser` limits. */
export const TierSchema = LimitsSchema.extend({ perUser: LimitsSchema.optional() });
/** Per-org overrides, on top of the org's tier. */
export const OrgSchema = TierSchema.extend({ tier: z.string().min(1).optional() });
/** Per-user overrides, on top of the user's (or their org's `perUser`) limits. */
export const UserSchema = LimitsSchema.extend({ tier: z.string().min(1).optional() });

/** USD per million tokens. Cached, cache-write and reasoning tokens default to the input/output rate. */
export const PriceSchema = z.strictObject({
  inputPerMTok: usd,
  outputPerMTok: usd,
  cachedInputPerMTok: usd.optional(),
  cacheWritePerMTok: usd.optional(),
  reasoningPerMTok: usd.optional(),
});
export type Price = z.infer<typeof PriceSchema>;

const FailModeSchema = z.enum(['open', 'closed']);
export type FailMode = z.infer<typeof FailModeSchema>;

/**
 * The budget configuration: tiers, per-org and per-user overrides, alerts, ceiling policy, fail
 * modes, prices. Parsed once by `budget()` / `new BudgetPolicy()`; a bad field throws at start-up.
 */
export const BudgetConfigSchema = z
  .strictObject({
    tiers: z.record(z.string(), TierSchema).default({}),
    /** The tier of a principal that names none (or names one not configured). */
    defaultTier: z.string().min(1).default('free'),
    orgs: z.record(z.string(), OrgSchema).default({}),
    users: z.record(z.string(), UserSchema).default({}),
    /** Fractions of a spend ceiling at which an alert fires, once per period per scope. */
    alerts: z.array(z.number().positive().max(10)).default([0.5, 0.8, 1]),
    /** At a spend ceiling: refuse (`budget_exceeded`) or ask routing for a cheaper route. */
    onCeiling: z.enum(['block', 'downgrade']).default('block'),
    /**
     * What to do when the store is unreachable, for all limits or per limit. Default: rates,
     * tokens and concurrency fail open (availability first), spend fails closed (money first).
     */
    failMode: z
      .union([FailModeSchema, z.partialRecord(z.enum([...LIMIT_NAMES, 'default']), FailModeSchema)])
      .default({}),
    /** Prices by model id, overriding or adding to `@pydantic/genai-prices`. */
    prices: z.record(z.string(), PriceSchema).default({}),
    /** The price of a model nobody knows (logged once); deliberately high so the error is safe. */
    defaultPrice: PriceSchema.default({ inputPerMTok: 15, outputPerMTok: 75 }),
    /** Output tokens reserved for a request that sets no `maxTokens`. */
    defaultMaxTokens: count.default(4096),
    /** How long a reservation lives without a settlement (a crashed process's reservations expire). */
    leaseMs: count.default(600_000),
    /** Prefix of every store key. */
    keyPrefix: z
      .string()
      .regex(/^[^{}]*$/, 'must not contain { or }')
      .default('budget:'),
  })
  .superRefine((config, ctx) => {
    const tiers = Object.keys(config.tiers);
    if (tiers.length > 0 && !config.tiers[config.defaultTier]) {
      ctx.addIssue({ code: 'custom', path: ['defaultTier'], message: `unknown tier "${config.defaultTier}"` });
    }
    for (const [section, entries] of [
      ['orgs', config.orgs],
      ['users', config.users],
    ] as const) {
      for (const [id, entry] of Object.entries(entries)) {
        if (entry.tier !== undefined && !config.tiers[entry.tier]) {
          ctx.addIssue({ code: 'custom', path: [section, id, 'tier'], message: `unknown tier "${entry.tier}"` });
        }
      }
    }
  });
export type BudgetConfig = z.input<typeof BudgetConfigSchema>;
export type ParsedBudgetConfig = z.output<typeof BudgetConfigSchema>;

/** The fail mode of one limit under a parsed config. */
export function failModeOf(config: ParsedBudgetConfig, limit: LimitName): FailMode {
  if (typeof config.failMode === 'string') return config.failMode;
  return (
    config.failMode[limit] ??
    config.failMode.default ??
    (limit === 'spendPerDayUsd' || limit === 'spendPerMonthUsd' ? 'closed' : 'open')
  );
}
