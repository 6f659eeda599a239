import { type RandomSource, seededRandom } from '@rel/core';
import {
  DAY_INCIDENTS,
  FEATURES,
  HOURLY_WEIGHT,
  INJECTION_HOURS,
  type Incident,
  MALFORMED_HOURS,
  ORGS,
  type PlannedRequest,
  type RequestFault,
  type RequestKind,
} from './scenario';

/** A script to play: requests at fixed times and incidents on the fake provider. */
export interface Script {
  readonly name: string;
  /** Simulated hours the script covers. */
  readonly hours: number;
  /** Real milliseconds per simulated hour. */
  readonly hourMs: number;
  readonly requests: readonly PlannedRequest[];
  readonly incidents: readonly Incident[];
}

/** Options of `planDay`. */
export interface DayOptions {
  readonly requests: number;
  readonly seed: number;
  /** Real milliseconds per simulated hour (default 500: a 12 s day). */
  readonly hourMs?: number;
}

/** Real milliseconds per simulated hour by default: the whole day plays in 12 s. */
export const DEFAULT_HOUR_MS = 500;

/**
 * Expands the scripted day into timed requests: traffic follows the hourly weights; orgs, features,
 * streaming, PII and per-request faults are drawn from a seeded random source, so a seed replays
 * the same day.
 * @example planDay({ requests: 600, seed: 7 }).requests.length // 600
 */
export function planDay(options: DayOptions): Script {
  const hourMs = options.hourMs ?? DEFAULT_HOUR_MS;
  const random = seededRandom(options.seed);
  const hours = HOURLY_WEIGHT.length;
  const times = spreadByWeight(options.requests, HOURLY_WEIGHT);
  const requests = times.map((hour, index) => {
    const org = pick(random, ORGS).id;
    const feature = pick(random, FEATURES);
    const kind = kindOf(random, feature.name, hour);
    const fault = incidentFault(random, DAY_INCIDENTS, hour, feature.alias) ?? faultOf(random, kind, hour);
    return {
      index,
      atMs: Math.round(hour * hourMs),
      org,
      feature: feature.name,
      alias: feature.alias,
      kind,
      user: `user-${1 + Math.floor(random() * 40)}`,
      ...(fault ? { fault } : {}),
    } satisfies PlannedRequest;
  });
  return { name: 'day', hours, hourMs, requests, incidents: DAY_INCIDENTS };
}

/** `n` times in simulated hours, spread so each hour gets a share proportional to its weight. */
export function spreadByWeight(n: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let target = ((i + 0.5) / n) * total;
    let hour = 0;
    while (hour < weights.length - 1 && target > (weights[hour] ?? 0)) {
      target -= weights[hour] ?? 0;
      hour += 1;
    }
    out.push(hour + Math.min(0.999, target / (weights[hour] || 1)));
  }
  return out;
}

/**
 * The fault an incident puts on a request planned at `hour`, if one is active then: the primary
 * answers 503 (outage), answers late (slow model: a random delay in the window's range), or
 * answers 429 once or twice (burst: retries absorb the first, the fallback the second).
 */
export function incidentFault(
  random: RandomSource,
  incidents: readonly Incident[],
  hour: number,
  alias: string,
): RequestFault | undefined {
  if (alias === 'extract') return undefined;
  const incident = incidents.find((i) => hour >= i.fromHour && hour < i.toHour);
  if (!incident) return undefined;
  const e = incident.effect;
  switch (e.type) {
    case 'down':
      return { model: incident.model, fault: { type: 'server_error', status: 503 } };
    case 'slow':
      return {
        model: incident.model,
        fault: {
          type: 'slow_first_token',
          delayMs: Math.round(e.latencyMs.min + random() * (e.latencyMs.max - e.latencyMs.min)),
        },
      };
    case 'rate_limit_burst':
      return { model: incident.model, fault: { type: 'rate_limit' }, times: random() < 0.5 ? 1 : 2 };
  }
}

function kindOf(random: RandomSource, feature: string, hour: number): RequestKind {
  if (feature === 'extract') return 'structured';
  if (feature !== 'assistant') return 'chat';
  const r = random();
  if (hour >= INJECTION_HOURS.from && hour < INJECTION_HOURS.to ? r < 0.6 : r < 0.02) return 'injection';
  if (r > 0.93) return 'pii';
  return random() < 0.35 ? 'stream' : 'chat';
}

function faultOf(random: RandomSource, kind: RequestKind, hour: number): RequestFault | undefined {
  if (kind !== 'structured') return undefined;
  const r = random();
  if (hour >= MALFORMED_HOURS.from && hour < MALFORMED_HOURS.to) {
    if (r < 0.35) return { fault: { type: 'schema_violation' } };
    if (r < 0.8) return { fault: { type: 'schema_violation' }, times: 1 };
    return undefined;
  }
  return r < 0.08 ? { fault: { type: 'schema_violation' }, times: 1 } : undefined;
}

function pick<T extends { readonly share: number }>(random: RandomSource, items: readonly T[]): T {
  let r = random() * items.reduce((a, b) => a + b.share, 0);
  for (const item of items) {
    r -= item.share;
    if (r < 0) return item;
  }
  return items[items.length - 1] as T;
}
