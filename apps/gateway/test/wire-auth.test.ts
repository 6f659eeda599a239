import { RelError } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyRing, hashKey } from '../src/auth';
import { ChunkWriter, parseChatRequest, toErrorBody } from '../src/openai-wire';

describe('parseChatRequest', () => {
  it('keeps every message text and role for any valid body (property)', () => {
    const message = fc.oneof(
      fc.record({ role: fc.constant('system' as const), content: fc.string() }),
      fc.record({ role: fc.constant('developer' as const), content: fc.string() }),
      fc.record({ role: fc.constant('user' as const), content: fc.string() }),
      fc.record({ role: fc.constant('assistant' as const), content: fc.string() }),
    );
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }),
        (messages, maxTokens) => {
          const { request } = parseChatRequest({
            model: 'chat',
            messages,
            ...(maxTokens ? { max_tokens: maxTokens } : {}),
          });
          expect(request.messages.map((m) => m.content)).toEqual(messages.map((m) => m.content));
          expect(request.messages.map((m) => m.role)).toEqual(
            messages.map((m) => (m.role === 'developer' ? 'system' : m.role)),
          );
          expect(request.maxTokens).toBe(maxTokens);
        },
      ),
    );
  });

  it('refuses any unknown top-level field, naming it (property)', () => {
    const known = new Set([
      'model',
      'messages',
      'tools',
      'tool_choice',
      'stream',
      'n',
      'user',
      'seed',
      'stop',
      'store',
    ]);
    fc.assert(
      fc.property(
        fc
          .string({ minLength: 1, maxLength: 20 })
          .filter((k) => !known.has(k) && !k.includes('.') && k !== '__proto__'),
        (field) => {
          try {
            parseChatRequest({ model: 'chat', messages: [{ role: 'user', content: 'x' }], [field]: 1 });
          } catch (error) {
            if (!RelError.is(error) || error.failure.kind !== 'invalid_request') throw error;
            return error.failure.param === field;
          }
          return false;
        },
      ),
    );
  });

  it('joins text content parts and maps tools and the json_schema format', () => {
    const { request, includeUsage } = parseChatRequest({
      model: 'chat',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } },
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(request.messages[0]?.content).toBe('ab');
    expect(request.toolChoice).toEqual({ name: 'f' });
    expect(request.responseFormat).toEqual({ type: 'json_schema', name: 's', schema: { type: 'object' } });
    expect(includeUsage).toBe(true);
  });
});

describe('wire encoding', () => {
  it('puts the role in the first chunk only and the answering model from the finish on', () => {
    const w = new ChunkWriter('id', 1, 'requested');
    const [a] = w.encode({ type: 'text-delta', text: 'hi' }, false) as { choices: { delta: { role?: string } }[] }[];
    const [b] = w.encode({ type: 'text-delta', text: '!' }, false) as { choices: { delta: { role?: string } }[] }[];
    expect(a?.choices[0]?.delta.role).toBe('assistant');
    expect(b?.choices[0]?.delta.role).toBeUndefined();
    const fin = w.encode(
      { type: 'finish', finishReason: 'stop', model: 'v2', usage: { inputTokens: 1, outputTokens: 2 } },
      true,
    ) as { model: string; usage?: { total_tokens: number } }[];
    expect(fin.map((c) => c.model)).toEqual(['v2', 'v2']);
    expect(fin[1]?.usage?.total_tokens).toBe(3);
  });

  it('writes each chunk as the server-sent events of its encoded objects, byte for byte', () => {
    const chunk = fc.oneof(
      fc.record({ type: fc.constant('text-delta' as const), text: fc.string({ unit: 'binary' }) }),
      fc.record(
        {
          type: fc.constant('tool-call-delta' as const),
          index: fc.nat(3),
          id: fc.string({ maxLength: 5 }),
          name: fc.string({ maxLength: 5 }),
          argumentsDelta: fc.string({ maxLength: 8 }),
        },
        { requiredKeys: ['type', 'index'] },
      ),
      fc.record(
        {
          type: fc.constant('finish' as const),
          finishReason: fc.constantFrom('stop' as const, 'length' as const, 'tool_calls' as const),
          model: fc.string({ unit: 'binary', maxLength: 6 }),
          usage: fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat() }),
        },
        { requiredKeys: ['type', 'finishReason'] },
      ),
    );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.string({ unit: 'binary', maxLength: 8 }),
        fc.array(chunk, { maxLength: 8 }),
        fc.boolean(),
        (id, created, model, chunks, includeUsage) => {
          const objects = new ChunkWriter(id, created, model);
          const events = new ChunkWriter(id, created, model);
          for (const c of chunks) {
            const expected = objects
              .encode(c, includeUsage)
              .map((o) => `data: ${JSON.stringify(o)}\n\n`)
              .join('');
            expect(events.sse(c, includeUsage)).toBe(expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('encodes errors with the user-visible class as type and the kind as code', () => {
    const body = toErrorBody(new RelError({ kind: 'budget_exceeded', scope: 'org:a:day', limitUsd: 1, spentUsd: 1 }));
    expect(body.error).toMatchObject({ type: 'quota_exceeded', code: 'budget_exceeded', param: null });
  });
});

describe('KeyRing', () => {
  const ring = new KeyRing([
    { hash: hashKey('sk-a'), org: 'a', tier: 't' },
    { hash: hashKey('sk-b'), org: 'b', tier: 't', models: ['chat'] },
  ]);
  const status = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return RelError.is(error) && error.failure.kind === 'unauthorized' ? error.failure.status : 'other';
    }
    return 'ok';
  };

  it('resolves a key to its org without keeping the key', () => {
    expect(ring.authenticate('Bearer sk-b')).toMatchObject({ org: 'b', models: ['chat'] });
    expect(JSON.stringify(ring.authenticate('Bearer sk-a'))).not.toContain('sk-a');
  });

  it('answers 401 for a missing, malformed or unknown key and 403 for a model the key may not use', () => {
    expect(status(() => ring.authenticate(undefined))).toBe(401);
    expect(status(() => ring.authenticate('Basic abc'))).toBe(401);
    expect(status(() => ring.authenticate('Bearer sk-c'))).toBe(401);
    const b = ring.authenticate('Bearer sk-b');
    expect(status(() => ring.authorize(b, 'secret'))).toBe(403);
    expect(status(() => ring.authorize(b, 'chat'))).toBe('ok');
  });

  it('resolves each of 2,000 keys to its own entry, keeps the first of a repeated hash, and refuses a near miss', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => ({
      hash: hashKey(`sk-org-${i}`),
      org: `org-${i}`,
      tier: 't',
    }));
    const big = new KeyRing([...keys, { hash: hashKey('sk-org-7'), org: 'impostor', tier: 't' }]);
    for (let i = 0; i < keys.length; i++) expect(big.authenticate(`Bearer sk-org-${i}`).org).toBe(`org-${i}`);
    expect(big.authenticate('Bearer sk-org-7').org).toBe('org-7');
    expect(status(() => big.authenticate('Bearer sk-org-2000'))).toBe(401);
    expect(status(() => big.authenticate('Bearer SK-ORG-1'))).toBe(401);
  });
});
