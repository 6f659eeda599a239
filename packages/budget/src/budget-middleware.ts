import type { Middleware, RequestContext, StreamChunk, StreamingCompletion, Usage } from '@rel/core';
import { type BudgetOptions, BudgetPolicy, type Reservation } from './budget-policy';

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
  return (next) => async (req, ctx) => {
    const reservation = await policy.reserve(req, ctx);
    const before = ctx.usage;
    // No closures until a stream needs them: the completion path creates none per request.
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await next(req, ctx);
    } catch (error) {
      // A call that failed after the provider billed (a re-ask, a cut stream) is still charged.
      const billed = usageSince(before, ctx);
      if (billed) await policy.settle(reservation, billed);
      else await policy.release(reservation);
      throw error;
    }
    if (response.type === 'completion') {
      const actual = response.provider
        ? { model: response.model, provider: response.provider }
        : { model: response.model };
      await policy.settle(reservation, usageSince(before, ctx) ?? response.usage, actual);
      return response;
    }
    return settledAtEnd(policy, reservation, before, ctx, response);
  };
}

/**
 * The stream, settling the reservation when it ends (or releasing it when no token was used). Its
 * own function: the closures it needs would otherwise make every request allocate their scope.
 */
function settledAtEnd(
  policy: BudgetPolicy,
  reservation: Reservation,
  before: Usage,
  ctx: RequestContext,
  response: StreamingCompletion,
): StreamingCompletion {
  const provider = response.provider;
  let finish: Extract<StreamChunk, { type: 'finish' }> | undefined;
  let ended = false;
  // Runs once: when the stream ends, throws, or the consumer stops reading (even before the first chunk).
  const endStream = async () => {
    if (ended) return;
    ended = true;
    const usage = usageSince(before, ctx) ?? finish?.usage;
    if (usage) {
      await policy.settle(reservation, usage, {
        ...(finish?.model ? { model: finish.model } : {}),
        ...(provider ? { provider } : {}),
      });
    } else await policy.release(reservation);
  };
  const upstream = response.chunks[Symbol.asyncIterator]();
  const settleAtEnd = (async function* (): AsyncGenerator<StreamChunk> {
    try {
      for (let next = await upstream.next(); !next.done; next = await upstream.next()) {
        if (next.value.type === 'finish') finish = next.value;
        yield next.value;
      }
    } finally {
      // A consumer that stopped early closes the upstream too (its connection is released).
      if (!ended) await upstream.return?.();
      await endStream();
    }
  })();
  let started = false;
  const chunks: AsyncIterableIterator<StreamChunk> = {
    [Symbol.asyncIterator]: () => chunks,
    next: () => {
      started = true;
      return settleAtEnd.next();
    },
    // A generator closed before its first `next` never runs its body (nor its `finally`): end the
    // reservation and close the upstream here instead.
    return: async (value?: unknown) => {
      if (!started) {
        started = true;
        await upstream.return?.();
        await endStream();
      }
      return settleAtEnd.return(value as undefined);
    },
    throw: (error?: unknown) => settleAtEnd.throw(error),
  };
  return { ...response, chunks };
}

/** The usage recorded on `ctx` since it stood at `before`, or `undefined` when no token was. */
function usageSince(before: Usage, ctx: RequestContext): Usage | undefined {
  const now = ctx.usage;
  const delta: Usage = {
    inputTokens: now.inputTokens - before.inputTokens,
    outputTokens: now.outputTokens - before.outputTokens,
  };
  if (delta.inputTokens + delta.outputTokens === 0) return undefined;
  if (now.cachedInputTokens !== undefined)
    delta.cachedInputTokens = diff(now.cachedInputTokens, before.cachedInputTokens);
  if (now.cacheCreationInputTokens !== undefined) {
    delta.cacheCreationInputTokens = diff(now.cacheCreationInputTokens, before.cacheCreationInputTokens);
  }
  if (now.reasoningTokens !== undefined) delta.reasoningTokens = diff(now.reasoningTokens, before.reasoningTokens);
  return delta;
}

function diff(a?: number, b?: number): number {
  return (a ?? 0) - (b ?? 0);
}
