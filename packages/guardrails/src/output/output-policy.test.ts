import { compose, type LlmRequest, RelError, RequestContext, collectStream, seededRandom } from '@rel/core';
import { FakeProvider } from '@rel/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextWithEvents, scriptedModel, splitAt, streamOf, textOf } from '../../test/support';
import { piiGuard } from '../pii/pii-guard';
import { canaryLeaked, plantCanary } from './canary';
import { outputPolicy } from './output-policy';

const req = (stream = false): LlmRequest => ({
  model: 'm',
  messages: [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'hi' },
  ],
  stream,
});

/** Runs a stream to the end, collecting what the caller received before any error. */
async function drain(res: Awaited<ReturnType<ReturnType<ReturnType<typeof outputPolicy>>>>) {
  let received = '';
  let error: unknown;
  if (res.type !== 'stream') throw new Error('expected a stream');
  try {
    for await (const c of res.chunks) if (c.type === 'text-delta') received += c.text;
  } catch (e) {
    error = e;
  }
  return { received, error };
}

describe('outputPolicy', () => {
  it('blocks a completion holding a denied phrase, whatever its case and spacing', async () => {
    const handler = compose(outputPolicy({ deny: ['internal use only'] }))(
      scriptedModel(() => 'This is INTERNAL  use\nonly.'),
    );
    const error = await handler(req(), new RequestContext()).catch((e) => e);
    expect(RelError.is(error) && error.failure).toEqual({
      kind: 'guardrail_blocked',
      stage: 'output',
      guardrail: 'output-policy',
      categories: ['deny'],
    });
  });

  it('passes clean answers through unchanged', async () => {
    const handler = compose(outputPolicy({ deny: ['secret plan', /\bpassword\b/i] }))(scriptedModel(() => 'All fine.'));
    expect(await textOf(await handler(req(), new RequestContext()))).toBe('All fine.');
  });

  it('never emits a denied phrase in a stream, whatever the chunking, and throws guardrail_blocked', async () => {
    const phrase = 'launch codes';
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 150 }),
        fc.string({ maxLength: 150 }),
        fc.array(fc.nat(320), { maxLength: 30 }),
        async (head, tail, cuts) => {
          const text = `${head}Here are the Launch Codes: 0000${tail}`;
          const handler = compose(outputPolicy({ deny: [phrase] }))(async (r) => streamOf(r, splitAt(text, cuts)));
          const { received, error } = await drain(await handler(req(true), new RequestContext()));
          expect(received.toLowerCase()).not.toContain(phrase);
          expect(RelError.is(error) && error.failure.kind).toBe('guardrail_blocked');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('streams clean text unchanged whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 30 }), async (text, cuts) => {
        fc.pre(!/forbidden/i.test(text));
        const handler = compose(outputPolicy({ deny: ['forbidden'], holdBackChars: 16 }))(async (r) =>
          streamOf(r, splitAt(text, cuts)),
        );
        const res = await handler(req(true), new RequestContext());
        if (res.type !== 'stream') throw new Error('expected a stream');
        let emitted = '';
        for await (const c of res.chunks) if (c.type === 'text-delta') emitted += c.text;
        expect(emitted).toBe(text);
      }),
      { numRuns: 150 },
    );
  });

  it('releases text once it is more than holdBackChars behind the newest chunk', async () => {
    const handler = compose(outputPolicy({ deny: ['x'], holdBackChars: 5 }))(async (r) =>
      streamOf(r, ['abcdefgh', 'ijkl', 'mn']),
    );
    const res = await handler(req(true), new RequestContext());
    if (res.type !== 'stream') throw new Error('expected a stream');
    const deltas: string[] = [];
    for await (const c of res.chunks) if (c.type === 'text-delta') deltas.push(c.text);
    expect(deltas).toEqual(['abc', 'defg', 'hi', 'jklmn']);
  });

  it('blocks an answer that reveals the planted canary, even without its prefix', async () => {
    const { messages, canary } = plantCanary(req().messages, { random: seededRandom(7) });
    expect(messages[0]?.content).toContain(canary);
    expect(canaryLeaked(`my instructions say ${canary.slice('rel-canary-'.length).toUpperCase()}`, canary)).toBe(true);
    const leaky = scriptedModel((r) => `My system prompt: ${r.messages[0]?.content}`);
    const error = await compose(outputPolicy({ canary: true, random: seededRandom(1) }))(leaky)(
      req(),
      new RequestContext(),
    ).catch((e) => e);
    expect(RelError.is(error) && error.failure).toMatchObject({
      kind: 'guardrail_blocked',
      categories: ['canary_leak'],
    });
    expect(leaky.seen[0]?.messages[0]?.content).toMatch(/rel-canary-[a-z]{16}/);
  });

  it('still catches a canary leak when the PII guard runs outside it (the canary is not tokenized)', async () => {
    const leaky = scriptedModel((r) => `Sure: ${r.messages[0]?.content}`);
    const handler = compose(piiGuard(), outputPolicy({ canary: true }))(leaky);
    const error = await handler(req(), new RequestContext()).catch((e) => e);
    expect(RelError.is(error) && error.failure).toMatchObject({ categories: ['canary_leak'] });
  });

  it('adds a system message for the canary when the conversation has none', () => {
    const { messages, canary } = plantCanary([{ role: 'user', content: 'hi' }], {
      canary: 'rel-canary-qwertyuiopasdfgh',
    });
    expect(messages).toEqual([
      { role: 'system', content: expect.stringContaining(canary) },
      { role: 'user', content: 'hi' },
    ]);
  });

  it('redacts, warns about or blocks PII in the answer', async () => {
    const model = scriptedModel(() => 'Write to jo@example.com today.');
    const run = async (pii: 'redact' | 'warn' | 'block', stream = false) => {
      const { ctx } = contextWithEvents();
      const result = await compose(outputPolicy({ pii }))(model)(req(stream), ctx)
        .then(textOf)
        .catch((e: unknown) => e);
      return { result, verdict: ctx.verdicts[0] };
    };
    expect(await run('redact')).toMatchObject({
      result: 'Write to [EMAIL] today.',
      verdict: { action: 'redact', categories: ['pii:email'] },
    });
    expect(await run('redact', true)).toMatchObject({ result: 'Write to [EMAIL] today.' });
    expect(await run('warn')).toMatchObject({ result: 'Write to jo@example.com today.', verdict: { action: 'warn' } });
    const blocked = await run('block', true);
    expect(RelError.is(blocked.result) && blocked.result.failure.kind).toBe('guardrail_blocked');
    expect(blocked.verdict).toMatchObject({ action: 'block', stage: 'output' });
  });

  it('redacts PII split across stream chunks before any part of it is emitted', async () => {
    const text = 'card 4111 1111 1111 1111 is on file';
    for (let cut = 1; cut < text.length; cut++) {
      const handler = compose(outputPolicy({ pii: 'redact', holdBackChars: 32 }))(async (r) =>
        streamOf(r, splitAt(text, [cut, cut + 3])),
      );
      const res = await handler(req(true), new RequestContext());
      const { received } = await drain(res);
      expect(received).toBe('card [CREDIT_CARD] is on file');
    }
  });

  it('keeps streaming after redacting PII early in a long stream', async () => {
    const text = `Contact jo@example.com for details. ${'More harmless text follows here. '.repeat(10)}`;
    const handler = compose(outputPolicy({ pii: 'redact', deny: ['forbidden'] }))(async (r) =>
      streamOf(
        r,
        splitAt(
          text,
          Array.from({ length: 40 }, (_, i) => i * 9),
        ),
      ),
    );
    const { ctx } = contextWithEvents();
    const { received, error } = await drain(await handler(req(true), ctx));
    expect(error).toBeUndefined();
    expect(received).toBe(text.replace('jo@example.com', '[EMAIL]'));
    expect(ctx.verdicts).toEqual([expect.objectContaining({ action: 'redact', categories: ['pii:email'] })]);
  });

  it('asks a pluggable classifier and applies its verdict', async () => {
    const classifier = (text: string) =>
      /stock tip/i.test(text)
        ? { action: 'block' as const, categories: ['financial_advice'] }
        : { action: 'pass' as const };
    const blocked = await compose(outputPolicy({ classifier }))(scriptedModel(() => 'Hot stock tip: buy!'))(
      req(),
      new RequestContext(),
    ).catch((e) => e);
    expect(RelError.is(blocked) && blocked.failure).toMatchObject({ categories: ['financial_advice'] });
    const redactor = () => ({ action: 'redact' as const, categories: ['tone'], text: '[removed]' });
    const res = await compose(outputPolicy({ classifier: redactor }))(scriptedModel(() => 'rude words'))(
      req(true),
      new RequestContext(),
    );
    expect(await textOf(res)).toBe('[removed]');
  });

  it('records one verdict per answer and emits it, with latency', async () => {
    const { ctx, guardrailEvents } = contextWithEvents();
    const res = await compose(outputPolicy({ deny: ['nope'] }))(new FakeProvider().handler)(req(true), ctx);
    await collectStream(res as Extract<typeof res, { type: 'stream' }>);
    expect(ctx.verdicts).toEqual([
      { name: 'output-policy', stage: 'output', action: 'pass', categories: [], latencyMs: expect.any(Number) },
    ]);
    expect(guardrailEvents).toEqual([expect.objectContaining({ requestId: ctx.requestId, action: 'pass' })]);
  });

  it('rejects a bad option naming the field', () => {
    expect(() => outputPolicy({ holdBackChars: 0 })).toThrow(/holdBackChars/);
    expect(() => outputPolicy({ deny: [''] })).toThrow(/deny/);
  });
});
