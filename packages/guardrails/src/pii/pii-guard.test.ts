import { compose, type LlmRequest, RequestContext } from '@rel/core';
import { FakeProvider } from '@rel/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextWithEvents, lastUser, scriptedModel, streamOf, textOf } from '../../test/support';
import { piiGuard } from './pii-guard';

const secretText = 'I am jo@example.com, card 4111 1111 1111 1111, phone +1 415-555-2671.';
const request = (content: string, extra: Partial<LlmRequest> = {}): LlmRequest => ({
  model: 'gpt-primary',
  messages: [
    { role: 'system', content: 'Support bot. Escalations go to boss@example.com.' },
    { role: 'user', content },
  ],
  ...extra,
});

describe('piiGuard', () => {
  it('keeps every PII value away from the provider (fake provider attempt log)', async () => {
    const fake = new FakeProvider();
    const handler = compose(piiGuard())(fake.handler);
    await handler(request(secretText), new RequestContext());
    await handler(request(secretText, { stream: true }), new RequestContext()).then(textOf);
    expect(fake.attempts).toHaveLength(2);
    for (const attempt of fake.attempts) {
      const seen = JSON.stringify(attempt.messages);
      for (const value of ['jo@example.com', 'boss@example.com', '4111 1111 1111 1111', '415-555-2671']) {
        expect(seen).not.toContain(value);
      }
      expect(seen).toContain('[EMAIL_1]');
      expect(seen).toContain('[CREDIT_CARD_1]');
    }
  });

  it('hands a request without PII on as the same object; with PII, copies only the messages it changed', async () => {
    const received: LlmRequest[] = [];
    const fake = new FakeProvider();
    const handler = compose(piiGuard())((r, c) => {
      received.push(r);
      return fake.handler(r, c);
    });
    const clean: LlmRequest = {
      model: 'gpt-primary',
      messages: [
        { role: 'system', content: 'Support bot.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
    };
    await handler(clean, new RequestContext());
    expect(received[0]).toBe(clean);
    const dirty = request(secretText);
    await handler(dirty, new RequestContext());
    const sent = received[1]!;
    expect(sent).not.toBe(dirty);
    expect(sent.messages[0]!.content).toBe('Support bot. Escalations go to [EMAIL_1].');
    expect(sent.messages[1]!.content).toBe('I am [EMAIL_2], card [CREDIT_CARD_1], phone [PHONE_1].');
    expect(dirty.messages[1]!.content).toBe(secretText);
  });

  it('restores the placeholders the model echoes in a completion', async () => {
    const model = scriptedModel((req) => `You said: ${lastUser(req)}`);
    const res = await compose(piiGuard())(model)(request(secretText), new RequestContext());
    expect(lastUser(model.seen[0]!)).toBe('I am [EMAIL_2], card [CREDIT_CARD_1], phone [PHONE_1].');
    expect(await textOf(res)).toBe(`You said: ${secretText}`);
  });

  it('restores placeholders split across stream chunks, for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(80), { maxLength: 15 }), async (cuts) => {
        const model = scriptedModel((req) => `Echo: ${lastUser(req)}`, cuts);
        const res = await compose(piiGuard())(model)(request(secretText, { stream: true }), new RequestContext());
        expect(await textOf(res)).toBe(`Echo: ${secretText}`);
      }),
      { numRuns: 100 },
    );
  });

  it('restores placeholders inside streamed tool-call arguments, JSON-escaped', async () => {
    const handler = compose(piiGuard())(async (req) => streamOf(req, ['ok'], ['{"to":"[EMA', 'IL_2]"}']));
    const res = await handler(request('write to jo@example.com', { stream: true }), new RequestContext());
    const { collectStream } = await import('@rel/core');
    const completion = res.type === 'stream' ? await collectStream(res) : res;
    expect(completion.message.toolCalls?.[0]?.arguments).toBe('{"to":"jo@example.com"}');
  });

  it('also cleans earlier assistant turns and tool results', async () => {
    const model = scriptedModel(() => 'ok');
    await compose(piiGuard())(model)(
      {
        model: 'm',
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: null,
            toolCalls: [{ id: 'c1', name: 'lookup', arguments: '{"ip":"10.0.0.12"}' }],
          },
          { role: 'tool', toolCallId: 'c1', content: 'owner jo@example.com' },
          { role: 'assistant', content: 'The owner is jo@example.com' },
        ],
      },
      new RequestContext(),
    );
    expect(JSON.stringify(model.seen[0])).not.toMatch(/jo@example\.com|10\.0\.0\.12/);
  });

  it('redact and mask modes replace values without restoring them', async () => {
    const model = scriptedModel((req) => lastUser(req));
    const redacted = await compose(piiGuard({ mode: 'redact' }))(model)(request(secretText), new RequestContext());
    expect(await textOf(redacted)).toBe('I am [EMAIL], card [CREDIT_CARD], phone [PHONE].');
    const masked = await compose(piiGuard({ mode: 'mask' }))(model)(request(secretText), new RequestContext());
    expect(await textOf(masked)).toBe('I am j*@example.com, card **** **** **** 1111, phone +* ***-***-2671.');
  });

  it('records a verdict and emits an event with the types found, never the values', async () => {
    const { ctx, guardrailEvents } = contextWithEvents();
    await compose(piiGuard())(scriptedModel(() => 'ok'))(request(secretText), ctx);
    expect(ctx.verdicts).toEqual([
      expect.objectContaining({
        name: 'pii',
        stage: 'input',
        action: 'redact',
        categories: ['credit_card', 'email', 'phone'],
      }),
    ]);
    expect(guardrailEvents).toHaveLength(1);
    expect(JSON.stringify(guardrailEvents)).not.toMatch(/example\.com|4111|2671|EMAIL_/);
    const clean = contextWithEvents();
    await compose(piiGuard())(scriptedModel(() => 'ok'))(
      { model: 'm', messages: [{ role: 'user', content: 'hello' }] },
      clean.ctx,
    );
    expect(clean.ctx.verdicts[0]).toMatchObject({ action: 'pass', categories: [] });
  });

  it('keeps the mapping per request: a second request cannot restore the first one’s values', async () => {
    const handler = compose(piiGuard())(scriptedModel(() => 'Reply to [EMAIL_1]'));
    const first = await handler(
      { model: 'm', messages: [{ role: 'user', content: 'jo@example.com' }] },
      new RequestContext(),
    );
    expect(await textOf(first)).toBe('Reply to jo@example.com');
    const second = await handler({ model: 'm', messages: [{ role: 'user', content: 'no pii' }] }, new RequestContext());
    expect(await textOf(second)).toBe('Reply to [EMAIL_1]');
  });

  it('rejects a bad option naming the field', () => {
    expect(() => piiGuard({ mode: 'hide' as 'redact' })).toThrow(/mode/);
  });
});
