import { RelError } from '@rel/core';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { compose, RequestContext } from '@rel/core';
import { describe, expect, it } from 'vitest';
import { idHasher } from './hash-id';
import { createTelemetry } from './telemetry';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('createTelemetry options', () => {
  it('refuses a bad option at once, naming the field', () => {
    const short = thrown(() => createTelemetry({ hashSalt: 'short' }));
    expect(RelError.is(short) && short.failure).toEqual({ kind: 'invalid_request', param: 'telemetry.hashSalt' });
    expect((short as Error).message).toMatch(/^createTelemetry: invalid option `hashSalt`/);
    const unknown = thrown(() => createTelemetry({ captureContents: true } as never));
    expect((unknown as Error).message).toMatch(/`captureContents`/);
    const badTarget = thrown(() => createTelemetry().attempt({ provider: 'openai', serverPort: 70000 }));
    expect(RelError.is(badTarget) && badTarget.failure).toEqual({
      kind: 'invalid_request',
      param: 'attempt.serverPort',
    });
  });

  it('writes JSON lines to a Node stream, and a failing sink never breaks the request', async () => {
    const stream = new PassThrough();
    const written: string[] = [];
    stream.on('data', (b: Buffer) => written.push(b.toString()));
    const answer = compose(createTelemetry({ jsonLines: stream }).request)(async (req) => ({
      type: 'completion',
      id: 'c1',
      requestedModel: req.model,
      model: 'm-1',
      message: { role: 'assistant', content: 'ok' },
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 1 },
    }));
    await answer(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      new RequestContext({ requestId: 'req_a' }),
    );
    await new Promise((r) => setImmediate(r));
    expect(written.join('')).toMatch(/^\{"ts":".*","rel.request.id":"req_a",.*\}\n$/);

    const broken = createTelemetry({
      jsonLines: {
        write() {
          throw new Error('disk full');
        },
      },
    });
    const res = await compose(broken.request)(async (req) => ({
      type: 'completion',
      id: 'c2',
      requestedModel: req.model,
      model: 'm-1',
      message: { role: 'assistant', content: 'ok' },
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 1 },
    }))({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, new RequestContext());
    expect(res.type).toBe('completion');
  });
});

describe('idHasher', () => {
  it('hashes to 16 hex characters, stable per salt, different across salts, never containing the id', () => {
    const a = idHasher('salt-one-1');
    const b = idHasher('salt-two-2');
    expect(a('user@example.com')).toMatch(/^[0-9a-f]{16}$/);
    expect(a('user@example.com')).toBe(a('user@example.com'));
    expect(a('user@example.com')).not.toBe(b('user@example.com'));
    expect(a('user@example.com')).not.toBe(a('user2@example.com'));
    // Without a salt each hasher draws its own random one.
    expect(idHasher()('x')).not.toBe(idHasher()('x'));
  });

  it('gives the same digest as sha256 streamed over salt, NUL and id (hashes stay stable across versions)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (salt, id) => {
        const streamed = createHash('sha256').update(salt).update('\0').update(id).digest('hex').slice(0, 16);
        expect(idHasher(salt)(id)).toBe(streamed);
      }),
    );
    // A fixed vector, so a change of algorithm or truncation cannot pass by changing both sides.
    expect(idHasher('s3cret')('user-42')).toBe('d597055f1edcfd86');
  });
});
