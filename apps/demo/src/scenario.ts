import { type GatewayConfigInput, hashKey } from '@rel/gateway';

/** A fault the fake provider applies to one request (the JSON of its `x-fake-fault` header). */
export type FakeFault =
  | { type: 'rate_limit'; retryAfterSeconds?: number }
  | { type: 'server_error'; status?: 500 | 502 | 503 }
  | { type: 'slow_first_token'; delayMs: number }
  | { type: 'invalid_json_output' }
  | { type: 'schema_violation' };

/** A per-request fault: which upstream model it hits and on how many of its attempts. */
export interface RequestFault {
  readonly fault: FakeFault;
  /** The fake model it applies to (default: any model the request reaches). */
  readonly model?: string;
  /** How many attempts get it (default: every attempt). */
  readonly times?: number;
}

/** An organisation calling the gateway: its API key, its tier and its share of the traffic. */
export interface DemoOrg {
  readonly id: string;
  readonly tier: string;
  readonly apiKey: string;
  readonly share: number;
}

/** A product feature: the model alias it calls and whether it may be degraded. */
export interface DemoFeature {
  readonly name: string;
  readonly alias: string;
  readonly critical: boolean;
  readonly share: number;
}

/** What a planned request asks for. */
export type RequestKind = 'chat' | 'stream' | 'structured' | 'injection' | 'pii';

/** One request of the scripted traffic, fully decided before the run (so a seed reproduces it). */
export interface PlannedRequest {
  readonly index: number;
  /** When to send it, in ms from the start of the run. */
  readonly atMs: number;
  readonly org: string;
  readonly feature: string;
  readonly alias: string;
  readonly kind: RequestKind;
  readonly user: string;
  readonly fault?: RequestFault;
}

/**
 * An incident of the fake provider over a window of simulated hours. It is scripted per request:
 * every request planned inside the window carries the incident's fault for the model it names, so
 * a seed replays the same incident however fast or slow the machine runs the traffic.
 */
export interface Incident {
  readonly name: string;
  readonly label: string;
  /** Simulated hours, [from, to). */
  readonly fromHour: number;
  readonly toHour: number;
  readonly model: string;
  readonly effect:
    | { readonly type: 'down' }
    | { readonly type: 'slow'; readonly latencyMs: { readonly min: number; readonly max: number } }
    | { readonly type: 'rate_limit_burst' };
}

/** The fake upstream models and how they behave when healthy. */
export const MODELS = {
  primary: 'gpt-primary',
  backup: 'gpt-backup',
  struct: 'gpt-struct',
} as const;

/** Healthy latency of every fake model (ms, uniform). */
export const HEALTHY_LATENCY = { min: 8, max: 30 } as const;

/** Prices of the fake models, USD per million tokens (a premium primary, a cheap backup). */
export const PRICES = {
  [MODELS.primary]: { inputPerMTok: 2.5, outputPerMTok: 10 },
  [MODELS.backup]: { inputPerMTok: 0.6, outputPerMTok: 2.4 },
  [MODELS.struct]: { inputPerMTok: 1.2, outputPerMTok: 4.8 },
} as const;

/** The orgs of the demo: one per tier, plus one whose daily budget is small on purpose. */
export const ORGS: readonly DemoOrg[] = [
  { id: 'acme', tier: 'enterprise', apiKey: 'sk-demo-acme-0123456789', share: 0.4 },
  { id: 'globex', tier: 'pro', apiKey: 'sk-demo-globex-0123456789', share: 0.25 },
  { id: 'umbrella', tier: 'pro', apiKey: 'sk-demo-umbrella-0123456789', share: 0.25 },
  { id: 'initech', tier: 'free', apiKey: 'sk-demo-initech-0123456789', share: 0.1 },
];

/** The product features: a critical assistant (served by the fallback), non-critical suggestions, an extractor. */
export const FEATURES: readonly DemoFeature[] = [
  { name: 'assistant', alias: 'chat', critical: true, share: 0.6 },
  { name: 'suggestions', alias: 'suggest', critical: false, share: 0.25 },
  { name: 'extract', alias: 'extract', critical: true, share: 0.15 },
];

/** The answer the non-critical feature gets while its model is down. */
export const DEGRADED_SUGGESTIONS = 'No suggestions right now.';

/** The admin key of the demo's gateway (loopback only): the runbooks' admin calls work against it. */
export const DEMO_ADMIN_KEY = 'rel-demo-admin-key-not-a-secret';

/** The incidents of the default day. */
export const DAY_INCIDENTS: readonly Incident[] = [
  {
    name: 'rate_limit_burst',
    label: '429 burst',
    fromHour: 6,
    toHour: 7,
    model: MODELS.primary,
    effect: { type: 'rate_limit_burst' },
  },
  {
    name: 'slow_model',
    label: 'slow primary',
    fromHour: 8,
    toHour: 10,
    model: MODELS.primary,
    effect: { type: 'slow', latencyMs: { min: 60, max: 320 } },
  },
  {
    name: 'outage',
    label: 'primary outage',
    fromHour: 12,
    toHour: 15,
    model: MODELS.primary,
    effect: { type: 'down' },
  },
];

/** Hours when the scripted day sends malformed structured output and hostile prompts. */
export const MALFORMED_HOURS = { from: 16, to: 18 } as const;
export const INJECTION_HOURS = { from: 19, to: 20 } as const;

/** Relative traffic per simulated hour: quiet night, busy working hours. */
export const HOURLY_WEIGHT: readonly number[] = [
  0.4, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.1, 1.3, 1.4, 1.4, 1.3, 1.2, 1.3, 1.4, 1.4, 1.3, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6,
  0.5,
];

/** Sizes of a run, all derived from the number of requests and the real length of the day. */
export interface DayShape {
  readonly requests: number;
  /** Real milliseconds one simulated hour lasts. */
  readonly hourMs: number;
}

/** Per-attempt limits of the primary routes: a slow primary times out and the backup answers. */
export const PRIMARY_TIMEOUTS = { totalMs: 250, firstTokenMs: 150 } as const;

/** The `max_tokens` every demo request asks for (keeps budget reservations small and stable). */
export const MAX_TOKENS = 64;

/** What one demo request costs on the primary, roughly (prompt ~40 tokens, answer 24): for sizing budgets. */
const APPROX_COST_USD = (40 * PRICES[MODELS.primary].inputPerMTok + 24 * PRICES[MODELS.primary].outputPerMTok) / 1e6;

/**
 * The gateway configuration of the demo: the fake provider as upstream, three aliases, four orgs
 * on three tiers, and limits sized from the run so the budget and the free tier run out mid-day.
 * @param baseURL the fake provider's `/v1` URL.
 * @example parseConfig(demoConfig(server.baseURL, { requests: 600, hourMs: 500 }))
 */
export function demoConfig(baseURL: string, shape: DayShape): GatewayConfigInput {
  const share = (id: string) => ORGS.find((o) => o.id === id)?.share ?? 0;
  // umbrella spends about 45% of what it would need for the whole day; initech's rpm covers ~60% of its calls.
  const umbrellaBudget = Math.max(0.002, shape.requests * share('umbrella') * APPROX_COST_USD * 0.45);
  const dayMinutes = (shape.hourMs * 24) / 60_000;
  // GCRA admits a burst of `rpm` and then `rpm` a minute: sized so initech's last ~40% of calls are refused.
  const initechRpm = Math.max(2, Math.round((shape.requests * share('initech') * 0.6) / (1 + dayMinutes)));
  return {
    server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2_000 },
    providers: { fake: { type: 'openai', baseURL, apiKeyEnv: 'FAKE_API_KEY' } },
    models: {
      chat: {
        routes: [
          { name: 'primary', provider: 'fake', model: MODELS.primary, timeouts: PRIMARY_TIMEOUTS },
          { name: 'backup', provider: 'fake', model: MODELS.backup, supportsPrefill: true },
        ],
      },
      suggest: {
        routes: [{ name: 'suggest-primary', provider: 'fake', model: MODELS.primary, timeouts: PRIMARY_TIMEOUTS }],
      },
      extract: { routes: [{ name: 'struct', provider: 'fake', model: MODELS.struct }] },
    },
    defaults: {
      timeouts: { default: { totalMs: 5_000 } },
      attempt: { totalMs: 2_000, firstTokenMs: 1_000, idleMs: 500 },
      retry: { maxAttempts: 2, backoff: { type: 'exponential', baseMs: 5, capMs: 20 }, maxRetryAfterMs: 50 },
      breaker: { consecutiveFailures: 4, openMs: Math.max(200, Math.round(shape.hourMs * 1.2)) },
      retryBudget: false,
    },
    keys: ORGS.map((o) => ({ hash: hashKey(o.apiKey), org: o.id, tier: o.tier })),
    tiers: {
      enterprise: { rpm: 100_000 },
      pro: { rpm: 100_000, spendPerDayUsd: 50 },
      free: { rpm: initechRpm, spendPerDayUsd: 1 },
    },
    orgs: { umbrella: { spendPerDayUsd: round6(umbrellaBudget) } },
    budget: { alerts: [0.5, 0.8, 1], onCeiling: 'block', defaultMaxTokens: MAX_TOKENS },
    prices: { ...PRICES },
    defaultPrice: { inputPerMTok: 1, outputPerMTok: 4 },
    guardrails: {
      injection: { policy: 'block' },
      pii: { mode: 'tokenize' },
      structured: { maxReasks: 1 },
    },
    features: {
      assistant: { critical: true },
      suggestions: { critical: false, degraded: DEGRADED_SUGGESTIONS },
      extract: { critical: true },
    },
    admin: { keyEnv: 'REL_ADMIN_KEY' },
    store: { type: 'memory', maxKeys: 100_000 },
    telemetry: { serviceName: 'rel-demo', jsonLogs: true, console: false, prometheus: false },
  };
}

/** The spend ceiling of an org in the demo config, if it has one. */
export function budgetOf(config: GatewayConfigInput, org: string): number | undefined {
  const own = config.orgs?.[org]?.spendPerDayUsd;
  if (own !== undefined) return own;
  const tier = ORGS.find((o) => o.id === org)?.tier;
  return tier ? config.tiers?.[tier]?.spendPerDayUsd : undefined;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
