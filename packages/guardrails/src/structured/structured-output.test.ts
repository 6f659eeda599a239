import { compose, type LlmRequest, RelError, RequestContext } from '@rel/core';
import { FakeProvider } from '@rel/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contextWithEvents, scriptedModel, textOf } from '../../test/support';
import { structuredOutput } from './structured-output';

const City = z.object({ city: z.string(), population: z.number().int() });
const cityJsonSchema = {
  type: 'object',
  properties: { city: { type: 'string' }, population: { type: 'integer' } },
  required: ['city', 'population'],
  additionalProperties: false,
};
const ask = (extra: Partial<LlmRequest> = {}): LlmRequest => ({
  model: 'gpt-primary',
  messages: [{ role: 'user', content: 'Biggest city of Norway?' }],
  ...extra,
});

describe('structuredOutput', () => {
  it('extracts, validates and returns clean JSON from a fenced answer in prose', async () => {
    const model = scriptedModel(() => 'Here you go:\n```json\n{"city": "Oslo", "population": 709000}\n```');
    const res = await compose(structuredOutput({ schema: City }))(model)(ask(), new RequestContext());
    expect(JSON.parse(await textOf(res))).toEqual({ city: 'Oslo', population: 709000 });
    expect(model.seen[0]?.responseFormat).toMatchObject({ type: 'json_schema', name: 'output' });
  });

  it('repairs trailing commas and single quotes without asking again', async () => {
    const model = scriptedModel(() => "{'city': 'Oslo', 'population': 709000,}");
    const { ctx } = contextWithEvents();
    const res = await compose(structuredOutput({ schema: City }))(model)(ask(), ctx);
    expect(JSON.parse(await textOf(res))).toEqual({ city: 'Oslo', population: 709000 });
    expect(model.seen).toHaveLength(1);
    expect(ctx.verdicts[0]).toMatchObject({ name: 'structured-output', action: 'sanitize', categories: ['repaired'] });
  });

  it('asks again with the validation errors when the first answer fails, then succeeds', async () => {
    const model = scriptedModel((_req, call) =>
      call === 1 ? '{"city": "Oslo", "population": "lots"}' : '{"city": "Oslo", "population": 709000}',
    );
    const { ctx, guardrailEvents } = contextWithEvents();
    const res = await compose(structuredOutput({ schema: City }))(model)(ask(), ctx);
    expect(JSON.parse(await textOf(res))).toEqual({ city: 'Oslo', population: 709000 });
    expect(model.seen).toHaveLength(2);
    const reask = model.seen[1]!.messages;
    expect(reask.at(-2)).toEqual({ role: 'assistant', content: '{"city": "Oslo", "population": "lots"}' });
    expect(reask.at(-1)?.content).toContain('/population');
    expect(ctx.verdicts[0]).toMatchObject({ action: 'sanitize', categories: ['reasked'] });
    expect(guardrailEvents).toHaveLength(1);
  });

  it('fails with malformed_output carrying the raw text after maxReasks re-asks', async () => {
    const model = scriptedModel(() => 'I would rather not.');
    const error = await compose(structuredOutput({ schema: City, maxReasks: 2 }))(model)(
      ask(),
      new RequestContext(),
    ).catch((e) => e);
    expect(model.seen).toHaveLength(3);
    expect(RelError.is(error) && error.failure).toMatchObject({ kind: 'malformed_output', raw: 'I would rather not.' });
    expect(
      RelError.is(error) && error.failure.kind === 'malformed_output' && error.failure.issues.length,
    ).toBeGreaterThan(0);
  });

  it('validates against the request’s json_schema response format with ajv', async () => {
    const model = scriptedModel((_r, call) =>
      call === 1 ? '{"city": "Oslo", "population": 1, "extra": true}' : '{"city": "Oslo", "population": 1}',
    );
    const handler = compose(structuredOutput())(model);
    const res = await handler(
      ask({ responseFormat: { type: 'json_schema', name: 'city', schema: cityJsonSchema } }),
      new RequestContext(),
    );
    expect(JSON.parse(await textOf(res))).toEqual({ city: 'Oslo', population: 1 });
    expect(model.seen[1]?.messages.at(-1)?.content).toContain('additional properties (extra)');
  });

  it('does nothing without a schema', async () => {
    const model = scriptedModel(() => 'plain text');
    expect(await textOf(await compose(structuredOutput())(model)(ask(), new RequestContext()))).toBe('plain text');
  });

  it('collects a streamed answer, validates it, and returns it as a stream', async () => {
    const model = scriptedModel(() => '```json\n{"city": "Oslo", "population": 709000}\n```', [3, 9, 20, 33]);
    const res = await compose(structuredOutput({ schema: City }))(model)(ask({ stream: true }), new RequestContext());
    expect(res.type).toBe('stream');
    expect(JSON.parse(await textOf(res))).toEqual({ city: 'Oslo', population: 709000 });
  });

  it('with the fake provider: repairs invalid_json_output, re-asks after schema_violation', async () => {
    const fake = new FakeProvider();
    const handler = compose(structuredOutput({ schema: cityJsonSchema }))(fake.handler);
    fake.fail('gpt-primary', { type: 'invalid_json_output' });
    const repairedCtx = new RequestContext();
    const repaired = await handler(ask(), repairedCtx);
    expect(Object.keys(JSON.parse(await textOf(repaired))).sort()).toEqual(['city', 'population']);
    expect(repairedCtx.verdicts[0]).toMatchObject({ categories: ['repaired'] });

    fake.fail('gpt-primary', { type: 'schema_violation' });
    const ctx = new RequestContext();
    const res = await handler(ask({ stream: true }), ctx);
    expect(Object.keys(JSON.parse(await textOf(res))).sort()).toEqual(['city', 'population']);
    expect(fake.attempts.map((a) => a.outcome)).toEqual(['fault:invalid_json_output', 'fault:schema_violation', 'ok']);
    expect(ctx.verdicts[0]).toMatchObject({ categories: ['reasked'] });
    expect(ctx.usage.inputTokens).toBeGreaterThan(0);
  });

  it('with the fake provider: gives up with malformed_output when every answer violates the schema', async () => {
    const fake = new FakeProvider();
    fake.always('gpt-primary', { type: 'schema_violation' });
    const error = await compose(structuredOutput({ schema: City, maxReasks: 1 }))(fake.handler)(
      ask(),
      new RequestContext(),
    ).catch((e) => e);
    expect(fake.attempts).toHaveLength(2);
    expect(RelError.is(error) && error.failure.kind).toBe('malformed_output');
  });

  it('rejects a bad option naming the field', () => {
    expect(() => structuredOutput({ maxReasks: -1 })).toThrow(/maxReasks/);
  });
});
