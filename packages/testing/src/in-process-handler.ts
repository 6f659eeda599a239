import {
  type Completion,
  type Handler,
  type LlmRequest,
  RelError,
  type RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  type Usage,
  abortReason,
} from '@rel/core';
import type { Answer } from './answer';
import type { FakeProvider } from './fake-provider';
import type { Plan } from './plan';

type AnswerPlan = Extract<Plan, { kind: 'answer' }>;

/** The provider name in-process responses report. */
export const FAKE_PROVIDER_NAME = 'fake';

/**
 * The fake provider as an `@rel/core` `Handler`: the same plan as over HTTP, carried out
 * in-process. HTTP errors become the `RelError` an adapter would raise; every wait uses the
 * fake's clock and `ctx.signal`; `ctx.idempotencyKey` is recorded; `ctx.recordUsage` is called
 * once a completion (or a stream's finish) is delivered. The fault comes from the queues or from
 * `req.metadata['x-fake-fault']`.
 * @example const res = await fake.handler({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, new RequestContext());
 */
export function createInProcessHandler(fake: FakeProvider): Handler {
  return async (req, ctx) => {
    // `ctx.aborted` makes no AbortSignal; the signal is read only where a wait needs it.
    if (ctx.aborted) throw abortReason(ctx.signal);
    const headers = Object.fromEntries(Object.entries(req.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const plan = fake.plan({ request: req, includeUsage: true, headers, idempotencyKey: ctx.idempotencyKey });
    if (plan.latencyMs > 0) await fake.clock.sleep(plan.latencyMs, ctx.signal);
    switch (plan.kind) {
      case 'error':
        throw new RelError(plan.failure, { cause: new Error(`HTTP ${plan.status}: ${JSON.stringify(plan.body)}`) });
      case 'reset':
        throw connectionReset();
      case 'hang':
        return waitForAbort(ctx.signal);
      case 'answer':
        return plan.stream ? streamOf(fake, req, ctx, plan) : completionOf(fake, req, ctx, plan);
    }
  };
}

async function completionOf(
  fake: FakeProvider,
  req: LlmRequest,
  ctx: RequestContext,
  plan: AnswerPlan,
): Promise<Completion> {
  const { fault, answer } = plan;
  if (fault.slowFirstTokenMs) await fake.clock.sleep(fault.slowFirstTokenMs, ctx.signal);
  if (fault.cutAfter !== undefined) throw connectionReset();
  if (fault.stall) {
    await fake.clock.sleep(fault.stall.stallMs, ctx.signal);
    throw connectionReset();
  }
  if (fault.malformedAt !== undefined) throw malformed(200);
  const text = answer.pieces.join('');
  const completion: Completion = {
    type: 'completion',
    id: plan.meta.id,
    requestedModel: req.model,
    model: plan.meta.model,
    provider: FAKE_PROVIDER_NAME,
    message:
      answer.kind === 'tool_call' && answer.toolCall
        ? { role: 'assistant', content: null, toolCalls: [{ ...answer.toolCall, arguments: text }] }
        : { role: 'assistant', content: text },
    finishReason: answer.finishReason,
    usage: usageOf(answer),
  };
  ctx.recordUsage(completion.usage);
  return completion;
}

function streamOf(fake: FakeProvider, req: LlmRequest, ctx: RequestContext, plan: AnswerPlan): StreamingCompletion {
  const { fault, answer } = plan;
  // The signal is read only by a wait: a stream without delays makes none.
  const sleep = (ms: number) => fake.clock.sleep(ms, ctx.signal);
  async function* chunks(): AsyncGenerator<StreamChunk> {
    if (fault.slowFirstTokenMs) await sleep(fault.slowFirstTokenMs);
    let emitted = 0;
    // Index `pieces.length` is the place of the finish chunk: faults placed there (or beyond) fire before it.
    for (let i = 0; i <= answer.pieces.length; i++) {
      const atEnd = i === answer.pieces.length;
      if (fault.cutAfter !== undefined && (i === fault.cutAfter || (atEnd && fault.cutAfter > i)))
        throw interrupted(emitted);
      if (fault.stall && (i === fault.stall.afterChunks || (atEnd && fault.stall.afterChunks > i))) {
        await sleep(fault.stall.stallMs);
        throw interrupted(emitted);
      }
      if (fault.malformedAt !== undefined && (i === fault.malformedAt || (atEnd && fault.malformedAt > i))) {
        throw malformed(200);
      }
      if (i > 0 && plan.chunkDelayMs > 0) await sleep(plan.chunkDelayMs);
      if (ctx.aborted) throw abortReason(ctx.signal);
      if (atEnd) break;
      const piece = answer.pieces[i] as string;
      if (answer.kind === 'tool_call' && answer.toolCall) {
        yield i === 0
          ? {
              type: 'tool-call-delta',
              index: 0,
              id: answer.toolCall.id,
              name: answer.toolCall.name,
              argumentsDelta: piece,
            }
          : { type: 'tool-call-delta', index: 0, argumentsDelta: piece };
      } else yield { type: 'text-delta', text: piece };
      emitted++;
    }
    const usage = usageOf(answer);
    ctx.recordUsage(usage);
    yield { type: 'finish', finishReason: answer.finishReason, id: plan.meta.id, model: plan.meta.model, usage };
  }
  return { type: 'stream', requestedModel: req.model, provider: FAKE_PROVIDER_NAME, chunks: chunks() };
}

function usageOf(answer: Answer): Usage {
  return { inputTokens: answer.promptTokens, outputTokens: answer.completionTokens };
}

function connectionReset(): RelError {
  const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  return new RelError({ kind: 'provider_unavailable', code: 'ECONNRESET' }, { cause });
}

function interrupted(emittedChunks: number): RelError {
  return new RelError(
    { kind: 'stream_interrupted', emittedChunks },
    { cause: new Error('fake provider closed the stream') },
  );
}

function malformed(status: number): RelError {
  const body = '{"id":"chatcmpl-malformed","choices":[{"delta":{"content":';
  return new RelError(
    { kind: 'provider_error', status, body },
    { cause: new SyntaxError('Unexpected end of JSON input') },
  );
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(abortReason(signal));
    else signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
  });
}
