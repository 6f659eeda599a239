import { readFileSync } from 'node:fs';
import { BudgetConfigSchema, OrgSchema, PriceSchema, TierSchema, createPricer } from '@rel/budget';
import { BreakerOptionsSchema, SafeDefaultSchema, TriggersSchema } from '@rel/fallback';
import { PiiTypeSchema } from '@rel/guardrails';
import { RetryBudgetOptionsSchema, RetryOptionsSchema, TimeoutLimitsSchema, TimeoutsOptionsSchema } from '@rel/retry';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const ms = z.number().int().positive();
/** The name of an environment variable: secrets are referenced by name, never written in the file. */
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)');

const ProviderConfig = z.strictObject({
  type: z.enum(['openai', 'anthropic']),
  /** Base URL up to the version segment, e.g. `https://api.openai.com/v1`. */
  baseURL: z.url({ protocol: /^https?$/ }),
  /** Environment variable holding the provider's API key. */
  apiKeyEnv: envName.optional(),
  /** Extra headers on every request (no secrets: use `headersFromEnv`). */
  headers: z.record(z.string(), z.string()).optional(),
  /** Headers whose values come from environment variables, e.g. Azure's `{ "api-key": "AZURE_KEY" }`. */
  headersFromEnv: z.record(z.string(), envName).optional(),
  /** OpenAI-compatible only: the field that carries `max_tokens`. */
  maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']).optional(),
});

/** One place a model alias can be served: a provider, a model, and that target's own resilience. */
const RouteConfig = z.strictObject({
  /** Unique within the alias; named in fallbacks, breaker keys and telemetry. Default `<provider>:<model>`. */
  name: z.string().min(1).optional(),
  provider: z.string().min(1),
  model: z.string().min(1),
  weight: z.number().nonnegative().optional(),
  /** Routes with the same group are equivalent deployments balanced by `weight`. */
  group: z.string().min(1).optional(),
  /** Accepts a trailing assistant message (mid-stream continuation after a failover). */
  supportsPrefill: z.boolean().optional(),
  contextWindow: z.number().int().positive().optional(),
  /** Limits of each attempt on this route: `totalMs`, `firstTokenMs` and `idleMs` for streams. Overrides `defaults.attempt`. */
  timeouts: TimeoutLimitsSchema.optional(),
  /** Retry policy of this route (see @rel/retry). Overrides `defaults.retry`. */
  retry: RetryOptionsSchema.optional(),
  /** Circuit breaker of this route (see @rel/fallback), or `false` for none. Overrides `defaults.breaker`. */
  breaker: z.union([BreakerOptionsSchema, z.literal(false)]).optional(),
});

const ModelAlias = z.strictObject({
  /** Ordered routes: the first is the primary, the rest are fallbacks. */
  routes: z.array(RouteConfig).min(1),
  /** Whole-request limits for this alias (every retry and fallback included). */
  timeouts: TimeoutLimitsSchema.optional(),
  /** Which failures move a request to the next route. */
  triggers: TriggersSchema.optional(),
  /** Route name to go to when a prompt overflows a route's context window. */
  largerContext: z.string().min(1).optional(),
  /** Route name a budget downgrade (`budget.onCeiling: downgrade`) sends the request to. */
  downgradeTo: z.string().min(1).optional(),
});

const ApiKey = z.strictObject({
  /** `sha256:<hex>` of the key; the key itself never appears in the file (`rel-gateway hash-key`). */
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 lowercase hex characters>'),
  org: z.string().min(1),
  tier: z.string().min(1),
  /** Model aliases this key may call; absent means all. */
  models: z.array(z.string().min(1)).optional(),
});

const Feature = z.strictObject({
  /** A non-critical feature gets its `degraded` answer instead of an error. */
  critical: z.boolean().default(true),
  /** Static answer for a non-critical feature when every route failed. */
  degraded: z.string().optional(),
  /** Static safe answer on a hard failure (`{ text }`, or `{ json, schema? }`). */
  safeDefault: SafeDefaultSchema.optional(),
});

const Guardrails = z.strictObject({
  injection: z
    .strictObject({
      policy: z.enum(['block', 'sanitize', 'flag', 'off']).default('block'),
      profile: z.enum(['default', 'strict']).default('default'),
      untrustedProfile: z.enum(['default', 'strict']).default('strict'),
    })
    .prefault({}),
  pii: z
    .strictObject({
      /** `tokenize`: the provider sees `[EMAIL_1]`, the caller gets the value back. */
      mode: z.enum(['tokenize', 'redact', 'mask', 'off']).default('tokenize'),
      types: z.array(PiiTypeSchema).min(1).optional(),
      defaultCountry: z.string().length(2).optional(),
    })
    .prefault({}),
  output: z
    .strictObject({
      /** Denied phrases (any case and spacing). */
      deny: z.array(z.string().min(1)).default([]),
      /** Plant a canary in the system prompt and block answers that leak it. */
      canary: z.boolean().default(false),
      /** PII the model itself wrote in the answer. */
      pii: z.enum(['block', 'redact', 'warn']).optional(),
      holdBackChars: z.number().int().min(1).max(4096).optional(),
    })
    .prefault({}),
  structured: z.strictObject({ maxReasks: z.number().int().min(0).max(10).default(2) }).prefault({}),
  caps: z
    .strictObject({
      maxTokens: z
        .strictObject({
          default: z.number().int().positive().optional(),
          byTier: z.record(z.string(), z.number().int().positive()).optional(),
          byRoute: z.record(z.string(), z.number().int().positive()).optional(),
        })
        .optional(),
      maxToolDepth: z.number().int().positive().optional(),
      maxToolCalls: z.number().int().positive().optional(),
    })
    .prefault({}),
});

/** The gateway's whole configuration, one YAML or JSON file. */
export const GatewayConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8787),
      bodyLimitBytes: z.number().int().positive().default(1_048_576),
      /** A client that has not sent its headers by then is cut (408). */
      headersTimeoutMs: ms.default(10_000),
      /** A client that has not sent its body by then is cut (408). */
      bodyTimeoutMs: ms.default(30_000),
      /** SIGTERM: how long in-flight requests may finish before they are cancelled. */
      shutdownGraceMs: ms.default(10_000),
    })
    .prefault({}),
  providers: z.record(z.string().min(1), ProviderConfig),
  models: z.record(z.string().min(1), ModelAlias),
  /** Defaults every route and alias inherits. */
  defaults: z
    .strictObject({
      /** Whole-request limits (every retry and fallback included), by operation and alias. */
      timeouts: TimeoutsOptionsSchema.default({ default: { totalMs: 60_000 } }),
      /** Limits of each attempt. */
      attempt: TimeoutLimitsSchema.default({ totalMs: 30_000 }),
      retry: RetryOptionsSchema.prefault({ maxAttempts: 3 }),
      breaker: z.union([BreakerOptionsSchema, z.literal(false)]).prefault({}),
      /** Retries stay under this share of requests, shared by every route (and process, with Redis). */
      retryBudget: z.union([RetryBudgetOptionsSchema.omit({ key: true }), z.literal(false)]).prefault({}),
    })
    .prefault({}),
  keys: z.array(ApiKey).default([]),
  /** Limits per tier (rpm, rpd, tpm, tpd, concurrent, spendPerDayUsd, spendPerMonthUsd, perUser). */
  tiers: z.record(z.string().min(1), TierSchema).default({}),
  /** Per-org overrides on top of the org's tier. */
  orgs: z.record(z.string().min(1), OrgSchema).default({}),
  budget: z
    .strictObject({
      alerts: z.array(z.number().positive().max(10)).optional(),
      onCeiling: z.enum(['block', 'downgrade']).optional(),
      failMode: BudgetConfigSchema.shape.failMode.optional(),
      defaultMaxTokens: z.number().int().positive().optional(),
      leaseMs: z.number().int().positive().optional(),
    })
    .prefault({}),
  /** Price overrides by model id (or alias), USD per million tokens. */
  prices: z.record(z.string().min(1), PriceSchema).default({}),
  /** The price of a model nobody knows (logged once per model). */
  defaultPrice: PriceSchema.optional(),
  guardrails: Guardrails.prefault({}),
  /** Per-feature degradation, chosen by the `x-rel-feature` request header. */
  features: z.record(z.string().min(1), Feature).default({}),
  /**
   * The incident admin API (`/admin/...`): off unless present and `keyEnv` names an environment
   * variable holding the admin key (at least 16 characters), sent as `Authorization: Bearer <key>`.
   */
  admin: z.strictObject({ keyEnv: envName }).optional(),
  store: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('memory'), maxKeys: z.number().int().positive().default(1_000_000) }),
      z.strictObject({
        type: z.literal('redis'),
        /**
         * Environment variable holding the Redis URL (it may carry a password); with `cluster`, the
         * URLs of some of the cluster's nodes, comma-separated (the client finds the rest).
         */
        urlEnv: envName.default('REDIS_URL'),
        /** A Redis Cluster (keys of one decision share the org's or user's hash tag). */
        cluster: z.boolean().default(false),
        keyPrefix: z
          .string()
          .regex(/^[^{}]*$/, 'must not contain { or }')
          .default('rel:'),
        commandTimeoutMs: ms.default(500),
        /** Share circuit-breaker state across processes too (costs store round trips per call). */
        shareBreakers: z.boolean().default(true),
        /** How often each process re-reads the feature modes an operator forced (through any instance). */
        featureModesRefreshMs: ms.default(1_000),
      }),
    ])
    .default({ type: 'memory', maxKeys: 1_000_000 }),
  telemetry: z
    .strictObject({
      serviceName: z.string().min(1).default('rel-gateway'),
      /** One JSON line per request on stdout (never prompts, keys or PII). */
      jsonLogs: z.boolean().default(true),
      /** Spans, metrics and logs printed to stdout by the OpenTelemetry console exporters. */
      console: z.boolean().default(false),
      /** OTLP over HTTP: base URL of the collector (`/v1/traces`, `/v1/metrics`, `/v1/logs` are appended). */
      otlp: z
        .strictObject({
          endpoint: z.url({ protocol: /^https?$/ }),
          /** Headers whose values come from environment variables (collector tokens). */
          headersFromEnv: z.record(z.string(), envName).optional(),
          exportIntervalMs: ms.default(15_000),
        })
        .optional(),
      /** Serve `GET /metrics` in Prometheus text format. */
      prometheus: z.boolean().default(true),
      /** Environment variable holding the salt for hashed user ids (same salt on every instance). */
      hashSaltEnv: envName.optional(),
    })
    .prefault({}),
});
/** A validated configuration, defaults applied. */
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
/** A configuration as written in the file. */
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>;
/** One route of a model alias, validated. */
export type RouteConfig = z.infer<typeof RouteConfig>;
/** One model alias, validated. */
export type ModelAliasConfig = z.infer<typeof ModelAlias>;

/** A configuration that failed validation; `issues` names every bad field by its path. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
  ) {
    super(`invalid gateway config ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}

/**
 * The name of a route: its own, else `<provider>:<model>`.
 * @example routeName({ provider: 'openai', model: 'gpt-4o' }) // 'openai:gpt-4o'
 */
export function routeName(route: RouteConfig): string {
  return route.name ?? `${route.provider}:${route.model}`;
}

function describeIssue(i: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): string {
  const path = [...prefix, ...i.path].map(String).join('.') || '(root)';
  if (i.code === 'unrecognized_keys')
    return `${path}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
  return `${path}: ${i.message}`;
}

/**
 * Validates a configuration object, including references between sections (route providers,
 * key tiers and models, route names of `largerContext`/`downgradeTo`, budget tiers).
 * @throws ConfigError listing every bad field by path.
 * @example parseConfig({ providers: {}, models: {} }).server.port // 8787
 */
export function parseConfig(input: unknown, source = '<inline>'): GatewayConfig {
  const parsed = GatewayConfigSchema.safeParse(input);
  if (!parsed.success)
    throw new ConfigError(
      source,
      parsed.error.issues.map((i) => describeIssue(i)),
    );
  const c = parsed.data;
  const issues: string[] = [];
  for (const [alias, m] of Object.entries(c.models)) {
    const names = new Set<string>();
    m.routes.forEach((r, i) => {
      if (!Object.hasOwn(c.providers, r.provider))
        issues.push(`models.${alias}.routes.${i}.provider: unknown provider "${r.provider}"`);
      const name = routeName(r);
      if (names.has(name)) issues.push(`models.${alias}.routes.${i}.name: duplicate route name "${name}"`);
      names.add(name);
    });
    for (const field of ['largerContext', 'downgradeTo'] as const) {
      const name = m[field];
      if (name !== undefined && !names.has(name)) issues.push(`models.${alias}.${field}: no route named "${name}"`);
    }
  }
  c.keys.forEach((k, i) => {
    if (!Object.hasOwn(c.tiers, k.tier)) issues.push(`keys.${i}.tier: unknown tier "${k.tier}"`);
    k.models?.forEach((m, j) => {
      if (!Object.hasOwn(c.models, m)) issues.push(`keys.${i}.models.${j}: unknown model alias "${m}"`);
    });
  });
  const budget = BudgetConfigSchema.safeParse(budgetConfigOf(c));
  if (!budget.success) {
    for (const i of budget.error.issues) {
      const top = i.path[0];
      issues.push(describeIssue(i, top === 'tiers' || top === 'orgs' || top === 'prices' ? [] : ['budget']));
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return c;
}

/**
 * The `@rel/budget` configuration a gateway config stands for. An alias without a price of its
 * own is priced as its primary route's model (from `prices`, else the genai-prices catalog, else
 * `defaultPrice`), computed once here: the reservation, made before routing on the alias, then
 * finds it in the table instead of searching the catalog on every request, and the settlement
 * (on the model that answered, then the alias) agrees with it.
 */
export function budgetConfigOf(c: GatewayConfig) {
  const prices = { ...c.prices };
  const pricer = createPricer({
    prices: c.prices,
    ...(c.defaultPrice ? { defaultPrice: c.defaultPrice } : {}),
    logger: { warn() {} },
  });
  const M = 1_000_000;
  for (const [alias, m] of Object.entries(c.models)) {
    const primary = m.routes[0];
    if (Object.hasOwn(prices, alias) || !primary) continue;
    const provider = c.providers[primary.provider]?.type;
    const priced = (inputTokens: number, outputTokens: number) =>
      pricer.price(primary.model, { inputTokens, outputTokens }, provider).cost.totalUsd;
    prices[alias] = { inputPerMTok: priced(M, 0), outputPerMTok: priced(0, M) };
  }
  const firstTier = Object.keys(c.tiers)[0];
  return {
    tiers: c.tiers,
    orgs: c.orgs,
    prices,
    ...(firstTier ? { defaultTier: firstTier } : {}),
    ...(c.defaultPrice ? { defaultPrice: c.defaultPrice } : {}),
    ...(c.budget.alerts ? { alerts: c.budget.alerts } : {}),
    ...(c.budget.onCeiling ? { onCeiling: c.budget.onCeiling } : {}),
    ...(c.budget.failMode ? { failMode: c.budget.failMode } : {}),
    ...(c.budget.defaultMaxTokens ? { defaultMaxTokens: c.budget.defaultMaxTokens } : {}),
    ...(c.budget.leaseMs ? { leaseMs: c.budget.leaseMs } : {}),
  };
}

/**
 * Reads and validates a YAML or JSON config file.
 * @throws ConfigError naming the file and every bad field.
 * @example const config = loadConfig('gateway.yaml');
 */
export function loadConfig(path: string): GatewayConfig {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(path, [`(file): ${error instanceof Error ? error.message : String(error)}`]);
  }
  return parseConfig(raw, path);
}
