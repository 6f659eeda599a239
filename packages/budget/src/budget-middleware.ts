import type {
  AcquireResult,
  Handler,
  LlmRequest,
  LlmResponse,
  Middleware,
  RequestContext,
  StreamingCompletion,
  Usage,
} from '@rel/core';
import { type BudgetOptions, BudgetPolicy, type Reservation, policySteps } from './budget-policy';
import { SettledStream, usageSince } from './settled-stream';

/**
 * The budget middleware: before the call, reserves rate, token, concurrency and spend limits of
 * the caller's org and user in one atomic store call (or refuses with `quota_exceeded` /
 * `budget_exceeded`, or asks routing to downgrade); after it, settles with the actual usage and
 * records the cost; on failure, cancellation or an abandoned stream, releases the reservation.
 * Place it outside retry and fallback, so one reservation covers the whole logical request and
 * routing sees a requested downgrade.
 * @param options the config (zod-validated here; a bad field throws at once) or a `BudgetPolicy`
 * @throws ZodError naming the field when the config is invalid.
 * @example
 * const handler = compose(
 *   budget({ store, tiers: { free: { rpm: 20, spendPerDayUsd: 1 } }, onAlert: (a) => notify(a) }),
 *   retry(),
 * )(provider);
 */
export function budget(options: BudgetOptions | BudgetPolicy = {}): Middleware {
  const policy = options instanceof BudgetPolicy ? options : new BudgetPolicy(options);
  const steps = policySteps();
  // A policy whose reserve/settle/release are overridden goes through them; the plain one through
  // their steps, with its store calls awaited in the middleware's own frame.
  if (!steps.isPlain(policy)) return (next) => (req, ctx) => generic(policy, next, req, ctx);
  return (next) => async (req, ctx) => {
    // `policy.reserve`, its store call here.
    const held = steps.prepare(policy, req, ctx);
    const ops = steps.ops(policy, held);
    let first: AcquireResult | 'fail_open' | undefined;
    if (ops) {
      try {
        first = await policy.store.acquire(ops);
      } catch (error) {
        first = steps.acquireFailed(policy, error, held);
      }
    }
    const admitted = steps.admit(policy, held, first);
    const reservation = admitted instanceof Promise ? await admitted : admitted;
    const before = ctx.usage;
    let response: LlmResponse;
    try {
      response = await next(req, ctx);
    } catch (error) {
      return failed(policy, reservation, before, ctx, error);
    }
    if (response.type !== 'completion') return settledAtEnd(policy, reservation, before, ctx, response);
    // `policy.settle` with the answering model, its store call here.
    const usage = usageSince(before, ctx) ?? response.usage;
    const charged = steps.charge(policy, reservation, usage, response.model, response.provider || undefined);
    if (charged) {
      const entries = steps.entries(policy, charged);
      let totals: number[] | undefined;
      try {
        totals = await policy.store.settle(charged.id, entries);
      } catch (error) {
        totals = steps.deferred(policy, error, charged);
      }
      const alerting = steps.charged(policy, charged, totals);
      if (typeof alerting === 'object') await alerting;
    }
    return response;
  };
}

/** The middleware through the policy's public methods (see `budget`). */
async function generic(
  policy: BudgetPolicy,
  next: Handler,
  req: LlmRequest,
  ctx: RequestContext,
): Promise<LlmResponse> {
  const reservation = await policy.reserve(req, ctx);
  const before = ctx.usage;
  // No closures until a stream needs them: the completion path creates none per request.
  let response: LlmResponse;
  try {
    response = await next(req, ctx);
  } catch (error) {
    return failed(policy, reservation, before, ctx, error);
  }
  if (response.type === 'completion') {
    const actual = response.provider
      ? { model: response.model, provider: response.provider }
      : { model: response.model };
    await policy.settle(reservation, usageSince(before, ctx) ?? response.usage, actual);
    return response;
  }
  return settledAtEnd(policy, reservation, before, ctx, response);
}

/** The call failed: ends the reservation, then throws `error`. */
async function failed(
  policy: BudgetPolicy,
  reservation: Reservation,
  before: Usage,
  ctx: RequestContext,
  error: unknown,
): Promise<never> {
  // A call that failed after the provider billed (a re-ask, a cut stream) is still charged.
  const billed = usageSince(before, ctx);
  if (billed) await policy.settle(reservation, billed);
  else await policy.release(reservation);
  throw error;
}

/** The stream, settling the reservation when it ends (or releasing it when no token was used). */
function settledAtEnd(
  policy: BudgetPolicy,
  reservation: Reservation,
  before: Usage,
  ctx: RequestContext,
  response: StreamingCompletion,
): StreamingCompletion {
  return { ...response, chunks: new SettledStream(policy, reservation, before, ctx, response) };
}
