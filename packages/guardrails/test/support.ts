import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Completion,
  type Handler,
  type LlmRequest,
  RequestContext,
  type StreamChunk,
  type StreamingCompletion,
  collectStream,
  EventHub,
} from '@rel/core';

/** Splits `text` at the given cut points (sorted, deduplicated, inside the text). */
export function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(text.length, c))))].sort((a, b) => a - b);
  const out: string[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(text.slice(at, p));
    at = p;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

/** A completion with `content`. */
export function completionOf(req: LlmRequest, content: string | null, extra: Partial<Completion> = {}): Completion {
  return {
    type: 'completion',
    id: 'cmpl_test',
    requestedModel: req.model,
    model: `${req.model}-2024`,
    message: { role: 'assistant', content },
    finishReason: 'stop',
    usage: { inputTokens: 10, outputTokens: 10 },
    ...extra,
  };
}

/** A stream of the given text pieces, then a finish. */
export function streamOf(
  req: LlmRequest,
  pieces: readonly string[],
  toolArgs?: readonly string[],
): StreamingCompletion {
  async function* chunks(): AsyncIterable<StreamChunk> {
    for (const text of pieces) yield { type: 'text-delta', text };
    for (const [i, argumentsDelta] of (toolArgs ?? []).entries()) {
      yield i === 0
        ? { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'send', argumentsDelta }
        : { type: 'tool-call-delta', index: 0, argumentsDelta };
    }
    yield { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } };
  }
  return { type: 'stream', requestedModel: req.model, chunks: chunks() };
}

/**
 * A small in-process model for tests: it answers with `answer(req)`; for a streaming request the
 * answer is cut at `cuts`. Every request it receives is kept in `seen`.
 */
export function scriptedModel(
  answer: (req: LlmRequest, call: number) => string,
  cuts: readonly number[] = [],
): Handler & { seen: LlmRequest[] } {
  const seen: LlmRequest[] = [];
  const handler = async (req: LlmRequest) => {
    seen.push(req);
    const text = answer(req, seen.length);
    return req.stream ? streamOf(req, splitAt(text, cuts)) : completionOf(req, text);
  };
  return Object.assign(handler, { seen });
}

/** The content of the last user message. */
export function lastUser(req: LlmRequest): string {
  const m = [...req.messages].reverse().find((x) => x.role === 'user');
  return m?.content ?? '';
}

/** A context with an event hub whose guardrail events are collected. */
export function contextWithEvents(init: ConstructorParameters<typeof RequestContext>[0] = {}) {
  const events = new EventHub();
  const guardrailEvents: unknown[] = [];
  events.on('guardrail', (e) => guardrailEvents.push(e));
  return { ctx: new RequestContext({ ...init, events }), guardrailEvents };
}

/** Reads a response to the end and returns the text the caller received. */
export async function textOf(res: Awaited<ReturnType<Handler>>): Promise<string> {
  const c = res.type === 'stream' ? await collectStream(res) : res;
  return c.message.content ?? '';
}

const here = dirname(fileURLToPath(import.meta.url));
/** Every `text` of the shared evaluation data (next to the repository) and of the held-out fixtures. */
export function dataTexts(): string[] {
  const files = [
    ...['injection/deepset-train.jsonl', 'injection/notinject.jsonl', 'pii/presidio-synth.jsonl'].map((f) =>
      resolve(here, '../../../../shared/data', f),
    ),
    ...readdirSync(resolve(here, 'fixtures'))
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => resolve(here, 'fixtures', f)),
  ];
  return files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { text: string }).text),
  );
}
