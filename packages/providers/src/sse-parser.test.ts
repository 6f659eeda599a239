import { RelError } from '@rel/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitAt } from '../test/streams';
import { type SseEvent, SseDecoder, parseSse } from './sse-parser';

const enc = new TextEncoder();

async function collect(parts: readonly Uint8Array[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  async function* source() {
    for (const p of parts) yield p;
  }
  for await (const ev of parseSse(source())) out.push(ev);
  return out;
}

describe('parseSse', () => {
  it('dispatches events on blank lines, with event names and the default name message', async () => {
    const events = await collect([enc.encode('event: ping\ndata: {}\n\ndata: hello\n\n')]);
    expect(events).toEqual([
      { event: 'ping', data: '{}' },
      { event: 'message', data: 'hello' },
    ]);
  });

  it('accepts CRLF, CR and LF line endings alike, including a CRLF split across chunks', async () => {
    const events = await collect([enc.encode('data: a\r'), enc.encode('\n\r\ndata: b\r\rdata: c\n\n')]);
    expect(events.map((e) => e.data)).toEqual(['a', 'b', 'c']);
  });

  it('joins multi-line data with newlines and ignores comments and unknown fields', async () => {
    const events = await collect([enc.encode(': keep-alive\ndata: one\nfoo: bar\ndata:two\ndata\n\n')]);
    expect(events).toEqual([{ event: 'message', data: 'one\ntwo\n' }]);
  });

  it('decodes a UTF-8 character split between two network chunks', async () => {
    const bytes = enc.encode('data: héllo 🌍\n\n');
    const events = await collect([bytes.slice(0, 8), bytes.slice(8, 14), bytes.slice(14)]);
    expect(events).toEqual([{ event: 'message', data: 'héllo 🌍' }]);
  });

  it('drops an unterminated final event instead of dispatching half of it', async () => {
    const events = await collect([enc.encode('data: whole\n\ndata: {"half":')]);
    expect(events.map((e) => e.data)).toEqual(['whole']);
  });

  it('fails with a typed provider_error when one event outgrows the size limit', () => {
    const decoder = new SseDecoder({ maxEventChars: 16 });
    const err = (() => {
      try {
        decoder.push(enc.encode('data: 0123456789abcdefghij'));
      } catch (e) {
        return e;
      }
    })();
    expect(RelError.is(err) && err.failure.kind).toBe('provider_error');
  });

  it('cancels a ReadableStream source when the consumer stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(enc.encode('data: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const ev of parseSse(stream)) {
      expect(ev.data).toBe('x');
      break;
    }
    expect(cancelled).toBe(true);
  });
});

const lineText = fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ' '));
const eventArb = fc.record({
  event: fc.option(fc.stringMatching(/^[a-z_]{1,12}$/), { nil: undefined }),
  lines: fc.array(lineText, { minLength: 1, maxLength: 3 }),
  comment: fc.boolean(),
});
const newline = fc.constantFrom('\n', '\r\n', '\r');

describe('parseSse properties', () => {
  it('yields the same events for any split of a valid stream, whatever the line endings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(eventArb, newline), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (events, cuts) => {
          let text = '';
          const expected: SseEvent[] = [];
          for (const [ev, nl] of events) {
            if (ev.comment) text += `: comment${nl}`;
            if (ev.event) text += `event: ${ev.event}${nl}`;
            for (const line of ev.lines) text += `data: ${line}${nl}`;
            text += nl;
            expected.push({ event: ev.event ?? 'message', data: ev.lines.join('\n') });
          }
          const bytes = enc.encode(text);
          expect(await collect(splitAt(bytes, cuts))).toEqual(expected);
          expect(await collect([bytes])).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads any split text as one decoder of the whole text and a spec line splitter would', () => {
    // The spec's reading, kept simple: decode everything at once, split lines, drop the unterminated last one.
    const reference = (bytes: Uint8Array): SseEvent[] => {
      const lines = new TextDecoder().decode(bytes).split(/\r\n|\r|\n/);
      lines.pop();
      const out: SseEvent[] = [];
      let data: string[] | undefined;
      let event = '';
      let id: string | undefined;
      for (const line of lines) {
        if (line === '') {
          if (data) out.push({ event: event || 'message', data: data.join('\n'), ...(id === undefined ? {} : { id }) });
          data = undefined;
          event = '';
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') (data ??= []).push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
      return out;
    };
    const piece = fc.constantFrom(
      'data',
      'data: ',
      'event: e',
      'id: 7',
      ':',
      ' ',
      'x',
      '\n',
      '\r',
      '\r\n',
      '\uFEFF',
      'é',
      '—',
      '☕',
      '😀',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 10 }), (pieces, cuts) => {
        const bytes = enc.encode(pieces.join(''));
        const decoder = new SseDecoder();
        const events = splitAt(bytes, cuts).flatMap((part) => decoder.push(part));
        events.push(...decoder.end());
        expect(events).toEqual(reference(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('strips a BOM only at the very start of the stream, as one decoder from the start does', () => {
    const bom = [0xef, 0xbb, 0xbf];
    const first = new SseDecoder();
    expect(first.push(new Uint8Array([...bom, ...enc.encode('data: x\n\n')]))).toEqual([
      { event: 'message', data: 'x' },
    ]);
    const later = new SseDecoder();
    expect(later.push(enc.encode('data: a'))).toEqual([]);
    expect(later.push(new Uint8Array([...bom, ...enc.encode('b\n\n')]))).toEqual([
      { event: 'message', data: 'a\uFEFFb' },
    ]);
  });

  it('ends a truncated UTF-8 sequence where the next ASCII byte comes, as the decoder does', () => {
    const decoder = new SseDecoder();
    expect(decoder.push(new Uint8Array([...enc.encode('data: '), 0xe2, 0x82]))).toEqual([]);
    expect(decoder.push(enc.encode('!\n\n'))).toEqual([{ event: 'message', data: '\uFFFD!' }]);
  });

  it('never throws on arbitrary bytes and yields the same events however they are split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (bytes, cuts) => {
          const whole = await collect([bytes]);
          expect(await collect(splitAt(bytes, cuts))).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
