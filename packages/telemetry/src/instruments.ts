import {
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  ValueType,
  createNoopMeter,
  metrics,
} from '@opentelemetry/api';
import type { BreakerState } from '@rel/core';
import {
  ATTR_REL_BREAKER_STATE,
  ATTR_REL_BREAKER_TARGET,
  DURATION_BUCKETS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  METRIC_REL_BREAKER_STATE,
  METRIC_REL_BUDGET_ALERTS,
  METRIC_REL_COST,
  METRIC_REL_DEGRADATIONS,
  METRIC_REL_ERRORS,
  METRIC_REL_FALLBACKS,
  METRIC_REL_GUARDRAIL_EVALUATIONS,
  METRIC_REL_RETRIES,
  TIME_TO_FIRST_CHUNK_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from './semconv';
import { SCOPE_NAME, SCOPE_VERSION } from './scope';
import { Tally } from './tally';

/** The instruments of one meter. */
export interface Instruments {
  readonly duration: Histogram;
  readonly tokens: Histogram;
  readonly timeToFirstChunk: Histogram;
  readonly cost: Tally;
  readonly fallbacks: Counter;
  readonly retries: Counter;
  readonly errors: Counter;
  readonly guardrails: Tally;
  readonly budgetAlerts: Counter;
  readonly degradations: Counter;
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

/**
 * Instruments created on first use, from the injected meter provider or the global one at that
 * time. Instruments created before an SDK is registered stay no-op forever, so the global
 * provider is looked up again on every use and the instruments are rebuilt when it changed.
 * `get()` returns `undefined` while the meter is the API's no-op one, so callers skip all
 * attribute work.
 */
export class LazyInstruments {
  readonly #injected: MeterProvider | undefined;
  readonly #breakerStates: ReadonlyMap<string, BreakerState>;
  #provider: MeterProvider | undefined;
  #instruments: Instruments | undefined;

  constructor(injected: MeterProvider | undefined, breakerStates: ReadonlyMap<string, BreakerState>) {
    this.#injected = injected;
    this.#breakerStates = breakerStates;
  }

  get(): Instruments | undefined {
    const provider = this.#injected ?? metrics.getMeterProvider();
    if (provider === this.#provider) return this.#instruments;
    this.#provider = provider;
    const meter = provider.getMeter(SCOPE_NAME, SCOPE_VERSION);
    this.#instruments = meter === createNoopMeter() ? undefined : this.#create(meter);
    return this.#instruments;
  }

  #create(meter: Meter): Instruments {
    const states = this.#breakerStates;
    meter
      .createObservableGauge(METRIC_REL_BREAKER_STATE, {
        description: 'Circuit breaker state per target: 1 for the current state, 0 for the others.',
        unit: '1',
        valueType: ValueType.INT,
      })
      .addCallback((result) => {
        for (const [target, current] of states) {
          for (const state of BREAKER_STATES) {
            result.observe(state === current ? 1 : 0, {
              [ATTR_REL_BREAKER_TARGET]: target,
              [ATTR_REL_BREAKER_STATE]: state,
            });
          }
        }
      });
    const counter = (name: string, description: string, unit = '1') => meter.createCounter(name, { description, unit });
    return {
      duration: meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
        description: 'GenAI operation duration.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
      }),
      tokens: meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
        description: 'Number of input and output tokens used.',
        unit: '{token}',
        valueType: ValueType.INT,
        advice: { explicitBucketBoundaries: [...TOKEN_USAGE_BUCKETS] },
      }),
      timeToFirstChunk: meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK, {
        description: 'Time to receive the first chunk of a streamed answer.',
        unit: 's',
        advice: { explicitBucketBoundaries: [...TIME_TO_FIRST_CHUNK_BUCKETS] },
      }),
      cost: new Tally(meter, METRIC_REL_COST, { description: 'Spend on LLM calls, in US dollars.', unit: 'USD' }),
      fallbacks: counter(METRIC_REL_FALLBACKS, 'Fallbacks to another route, by trigger reason.', '{fallback}'),
      retries: counter(METRIC_REL_RETRIES, 'Retries, by the failure that caused them.', '{retry}'),
      errors: counter(METRIC_REL_ERRORS, 'Failures the caller saw, by user-visible class.', '{error}'),
      guardrails: new Tally(meter, METRIC_REL_GUARDRAIL_EVALUATIONS, {
        description: 'Guardrail evaluations, by verdict.',
        unit: '{evaluation}',
      }),
      budgetAlerts: counter(METRIC_REL_BUDGET_ALERTS, 'Budget threshold alerts.', '{alert}'),
      degradations: counter(METRIC_REL_DEGRADATIONS, 'Requests served degraded or with a safe default.', '{request}'),
    };
  }
}
