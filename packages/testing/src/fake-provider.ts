import { type Clock, type Handler, type RandomSource, seededRandom, systemClock } from '@rel/core';
import { type AnswerVariant, composeAnswer, countPromptTokens } from './answer';
import { type Attempt, AttemptLog, type AttemptOutcome } from './attempt-log';
import {
  type ErrorResponse,
  contextLengthResponse,
  invalidRequestResponse,
  prefillRejectedResponse,
  serverErrorResponse,
} from './error-responses';
import { effectOf } from './fault-effect';
import { FaultScript } from './fault-script';
import { type Fault, parseFault, parseFaultHeader } from './faults';
import { type FakeServer, listenFake } from './http-server';
import { createInProcessHandler } from './in-process-handler';
import { z } from 'zod';
import { FakeProviderOptionsSchema, type ModelConfig, ModelConfigSchema, parseOrThrow } from './model-config';
import type { Plan, PlanInput, StreamFault } from './plan';

export type { PlanInput } from './plan';

/** Options of `new FakeProvider(...)`. */
export interface FakeProviderOptions {
  /** Used for latency, stalls, slow first tokens, `downFor` and attempt times. Default `systemClock`. */
  clock?: Clock;
  /** Mixed into every answer and random latency. Default 0. */
  seed?: number;
}

const DEFAULT_OUTPUT_TOKENS = 24;
const COUNT = z.number().int().positive();
const DURATION = z.number().nonnegative().finite();
const DEFAULT_CONTEXT_WINDOW = 128_000;

/**
 * A fake OpenAI-compatible LLM provider that misbehaves on demand, over real HTTP (`listen`) or
 * in-process (`handler`). Answers are deterministic for a given prompt; faults are queued per
 * model or sent per request in the `x-fake-fault` header; every attempt is recorded.
 * @throws TypeError from the constructor, `model`, `fail` and `always` on a bad option, naming the field.
 * @example
 * const fake = new FakeProvider();
 * fake.fail('gpt-primary', { type: 'rate_limit', retryAfterSeconds: 1 });
 * const server = await fake.listen();
 * // point a client at server.baseURL; the first call gets a 429, the second an answer
 * fake.attemptsFor('gpt-primary').map((a) => a.outcome); // ['fault:rate_limit', 'ok']
 * await server.close();
 */
export class FakeProvider {
  /** The clock every wait and timestamp uses. */
  readonly clock: Clock;
  /** The seed mixed into answers. */
  readonly seed: number;
  /** The same behaviour as the HTTP server, as an `@rel/core` `Handler`. */
  readonly handler: Handler;
  readonly #log = new AttemptLog();
  readonly #random: RandomSource;
  #models = new Map<string, ModelConfig>();
  readonly #script = new FaultScript();
  #responses = 0;

  constructor(options: FakeProviderOptions = {}) {
    const { clock, ...rest } = options;
    const parsed = parseOrThrow(FakeProviderOptionsSchema, rest, 'FakeProvider');
    this.clock = clock ?? systemClock;
    this.seed = parsed.seed ?? 0;
    this.#random = seededRandom(this.seed ^ 0x5eed);
    this.handler = createInProcessHandler(this);
  }

  /**
   * Configures a model (replacing its previous configuration). Requests may name any model;
   * unconfigured ones use the defaults.
   * @returns this, for chaining.
   * @example fake.model('gpt-primary', { latencyMs: { min: 5, max: 20 }, contextWindow: 8192 })
   */
  model(name: string, config: ModelConfig = {}): this {
    this.#models.set(name, parseOrThrow(ModelConfigSchema, config, `model('${name}')`));
    return this;
  }

  /** The configured model names, in configuration order (what `GET /v1/models` lists). */
  get models(): readonly string[] {
    return [...this.#models.keys()];
  }

  /** The version `name` reports in `model`. */
  versionOf(name: string): string {
    return this.#models.get(name)?.version ?? `${name}-2024-08-06`;
  }

  /**
   * Queues `fault` for the next `times` requests to `model`, after any already queued.
   * @throws TypeError naming the field when the fault is invalid or `times` is not a positive integer.
   * @example fake.fail('gpt-primary', { type: 'server_error', status: 503 }, 2)
   */
  fail(model: string, fault: Fault, times = 1): this {
    parseOrThrow(COUNT, times, `fail('${model}').times`);
    this.#script.enqueue(model, parseFault(fault), times);
    return this;
  }

  /**
   * Applies `fault` to every request to `model` (once the queue is empty) until `reset`.
   * @example fake.always('gpt-primary', { type: 'hang' })
   */
  always(model: string, fault: Fault): this {
    this.#script.always(model, parseFault(fault));
    return this;
  }

  /**
   * Answers 503 to every request to `model` for `ms` of clock time from now, then is healthy.
   * @throws TypeError naming `ms` when it is negative or not a finite number.
   * @example fake.downFor('gpt-primary', 30_000)
   */
  downFor(model: string, ms: number): this {
    parseOrThrow(DURATION, ms, `downFor('${model}').ms`);
    this.#script.downUntil(model, this.clock.now() + ms);
    return this;
  }

  /** Clears faults, model configurations and the attempt log. */
  reset(): void {
    this.#models.clear();
    this.#script.clear();
    this.#log.clear();
  }

  /** Every request received, in arrival order. */
  get attempts(): readonly Attempt[] {
    return this.#log.entries;
  }

  /** The attempts that asked for `model`. */
  attemptsFor(model: string): readonly Attempt[] {
    return this.#log.for(model);
  }

  /**
   * Starts a real HTTP server on 127.0.0.1 with a random port.
   * @example const server = await fake.listen(); new OpenAI({ baseURL: server.baseURL, apiKey: 'x' })
   */
  listen(): Promise<FakeServer> {
    return listenFake(this);
  }

  /**
   * Decides what to do with one request and records the attempt. Both transports call this;
   * tests rarely need it directly.
   */
  plan(input: PlanInput): Plan {
    const { request } = input;
    const config = this.#models.get(request.model) ?? {};
    const latencyMs = this.#latency(config);
    const record = (outcome: AttemptOutcome) =>
      this.#log.record({
        at: this.clock.now(),
        model: request.model,
        stream: request.stream === true,
        outcome,
        ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
        messages: request.messages,
        headers: input.headers,
      });
    const error = (outcome: AttemptOutcome, e: ErrorResponse): Plan => {
      record(outcome);
      return { kind: 'error', outcome, latencyMs, ...e };
    };

    let fault: Fault | undefined;
    const header = input.headers['x-fake-fault'];
    if (header !== undefined) {
      try {
        fault = parseFaultHeader(header);
      } catch (e) {
        return error('invalid_request', invalidRequestResponse((e as Error).message, 'x-fake-fault'));
      }
    }
    fault ??= this.#script.next(request.model);
    const promptTokens = countPromptTokens(request.messages);
    const contextWindow = config.contextWindow ?? DEFAULT_CONTEXT_WINDOW;
    let variant: AnswerVariant = 'valid';
    let streamFault: StreamFault = {};
    if (fault) {
      const outcome: AttemptOutcome = `fault:${fault.type}`;
      const effect = effectOf(fault, { model: request.model, promptTokens, contextWindow, now: this.clock.now() });
      if (effect.kind === 'error') return error(outcome, effect.response);
      if (effect.kind !== 'answer') {
        record(outcome);
        return { kind: effect.kind, outcome, latencyMs };
      }
      variant = effect.variant;
      streamFault = effect.streamFault;
    } else {
      if (this.#script.isDown(request.model, this.clock.now())) return error('down', serverErrorResponse(503));
      const last = request.messages.at(-1);
      if (config.rejectsPrefill && last?.role === 'assistant')
        return error('prefill_rejected', prefillRejectedResponse());
      if (promptTokens > contextWindow)
        return error('context_length', contextLengthResponse(contextWindow, promptTokens));
    }
    const outcome: AttemptOutcome = fault ? `fault:${fault.type}` : 'ok';
    record(outcome);
    this.#responses += 1;
    return {
      kind: 'answer',
      outcome,
      latencyMs,
      chunkDelayMs: config.chunkDelayMs ?? 0,
      stream: request.stream === true,
      includeUsage: input.includeUsage,
      meta: {
        id: `chatcmpl-rel${String(this.#responses).padStart(8, '0')}`,
        created: Math.floor(this.clock.now() / 1000),
        model: this.versionOf(request.model),
      },
      answer: composeAnswer(request, {
        seed: this.seed,
        outputTokens: config.outputTokens ?? DEFAULT_OUTPUT_TOKENS,
        variant,
      }),
      fault: streamFault,
    };
  }

  /**
   * Records a request whose body was rejected before it could be planned, and returns the 400 to send.
   */
  rejectBody(
    message: string,
    param: string | null,
    headers: Record<string, string>,
    model = '',
    stream = false,
  ): ErrorResponse {
    const key = headers['idempotency-key'];
    this.#log.record({
      at: this.clock.now(),
      model,
      stream,
      outcome: 'invalid_request',
      ...(key === undefined ? {} : { idempotencyKey: key }),
      messages: [],
      headers,
    });
    return invalidRequestResponse(message, param);
  }

  #latency(config: ModelConfig): number {
    const l = config.latencyMs;
    if (l === undefined) return 0;
    if (typeof l === 'number') return l;
    return l.min + this.#random() * (l.max - l.min);
  }
}
