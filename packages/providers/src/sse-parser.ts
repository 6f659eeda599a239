import { isAscii } from 'node:buffer';
import { RelError } from '@rel/core';

/** One dispatched server-sent event. `event` is `message` when the server named none. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}

/** Options of `parseSse` and `SseDecoder`. */
export interface SseParserOptions {
  /**
   * Largest event (pending line plus data) accepted, in characters; a bigger one fails with
   * `provider_error` instead of growing memory without bound. Default 4 MiB.
   */
  readonly maxEventChars?: number;
}

const DEFAULT_MAX_EVENT_CHARS = 4 * 1024 * 1024;
const STREAM = { stream: true } as const;

/** ASCII bytes as text (`isAscii(bytes)` holds). */
function asciiText(bytes: Uint8Array): string {
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString(
    'latin1',
  );
}

/**
 * An incremental parser of the `text/event-stream` format (WHATWG HTML, "server-sent events"):
 * bytes may be split anywhere (inside a line, a CRLF pair or a UTF-8 sequence); lines end in LF,
 * CRLF or CR; comment lines (`:`) are ignored; several `data` lines join with `\n`; an event is
 * dispatched on a blank line, and an unterminated event at the end is dropped, as the spec says.
 *
 * @example
 * const d = new SseDecoder();
 * d.push(new TextEncoder().encode('data: a\n')); // []
 * d.push(new TextEncoder().encode('\n'));       // [{ event: 'message', data: 'a' }]
 */
export class SseDecoder {
  /** Made for the first bytes that are not plain ASCII (see `push`). */
  #text: InstanceType<typeof TextDecoder> | undefined;
  /** No partial UTF-8 sequence is pending in `#text`: plain ASCII bytes may skip it. */
  #clean = true;
  /** Bytes were decoded without `#text`: a BOM it sees later is not at the stream's start. */
  #started = false;
  readonly #max: number;
  #buf = '';
  #skipLf = false;
  #event = '';
  #data = '';
  #hasData = false;
  #id: string | undefined;

  constructor(options: SseParserOptions = {}) {
    this.#max = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  }

  /**
   * Feeds bytes; returns the events completed by them.
   * @throws RelError `provider_error` when one event grows beyond `maxEventChars`
   */
  push(bytes: Uint8Array): SseEvent[] {
    const n = bytes.byteLength;
    if (this.#clean && isAscii(bytes)) {
      // ASCII is its own UTF-8 and nothing is pending: the same text as the decoder's, natively.
      if (n > 0) this.#started = true;
      return this.#feed(asciiText(bytes));
    }
    // Past the stream's start, a BOM is a character (as one decoder fed from the start keeps it).
    this.#text ??= new TextDecoder('utf-8', { ignoreBOM: this.#started });
    const text = this.#text.decode(bytes, STREAM);
    // A partial sequence can be pending only when the last byte is not ASCII.
    if (n > 0) this.#clean = (bytes[n - 1] as number) < 0x80;
    return this.#feed(text);
  }

  /** Ends the input: flushes a pending partial UTF-8 sequence; returns any event completed by it. */
  end(): SseEvent[] {
    const events = this.#feed(this.#text?.decode() ?? '');
    this.#buf = '';
    this.#data = '';
    this.#hasData = false;
    return events;
  }

  /**
   * Splits `text` into lines. The pending partial line (`#buf`) never holds a line break, so only
   * the new text is scanned: a huge line arriving in many small reads costs linear time, not
   * quadratic.
   */
  #feed(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    if (text === '') return events;
    let start = 0;
    if (this.#skipLf && text.charCodeAt(0) === 10) start = 1;
    this.#skipLf = false;
    // The next LF and CR at or after `start` (-1: none left), found by the engine's own search.
    let lf = text.indexOf('\n', start);
    let cr = text.indexOf('\r', start);
    while (lf !== -1 || cr !== -1) {
      const i = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      const line = this.#buf === '' ? text.slice(start, i) : this.#buf + text.slice(start, i);
      this.#buf = '';
      const event = this.#line(line);
      if (event) events.push(event);
      start = i + 1;
      if (i === cr) {
        if (start === text.length) this.#skipLf = true;
        else if (text.charCodeAt(start) === 10) start++;
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    }
    if (start < text.length) this.#buf += text.slice(start);
    if (this.#buf.length + this.#data.length > this.#max) throw tooLarge(this.#max);
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') return this.#dispatch();
    if (line.charCodeAt(0) === 58) return undefined; // ':' comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.#data = this.#hasData ? `${this.#data}\n${value}` : value;
      this.#hasData = true;
      if (this.#data.length > this.#max) throw tooLarge(this.#max);
    } else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    const event = this.#event || 'message';
    this.#event = '';
    if (!this.#hasData) return undefined;
    const data = this.#data;
    this.#data = '';
    this.#hasData = false;
    return this.#id === undefined ? { event, data } : { event, data, id: this.#id };
  }
}

function tooLarge(max: number): RelError {
  return new RelError(
    { kind: 'provider_error', body: `server-sent event longer than ${max} characters` },
    { cause: new Error('SSE event too large') },
  );
}

/**
 * Parses a byte stream (a `fetch` body or any async iterable of bytes) into server-sent events.
 * Stopping the iteration early cancels the underlying stream.
 * @throws RelError `provider_error` for an event over `maxEventChars`; errors of the source pass through.
 * @example
 * for await (const ev of parseSse(response.body!)) {
 *   if (ev.data === '[DONE]') break;
 *   console.log(JSON.parse(ev.data));
 * }
 */
export async function* parseSse(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  options: SseParserOptions = {},
): AsyncGenerator<SseEvent, void, undefined> {
  const decoder = new SseDecoder(options);
  if (!('getReader' in source)) {
    for await (const bytes of source) yield* decoder.push(bytes);
    yield* decoder.end();
    return;
  }
  const reader = source.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        break;
      }
      yield* decoder.push(next.value);
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  yield* decoder.end();
}
