import type { IncomingMessage } from 'node:http';
import { finished } from 'node:stream';
import type { BodyReadResult, BodyReader, HttpAnswer } from './http-transport';

/** Statuses whose answer has no body (as a `Response` of them has a null body). */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/**
 * The `HttpAnswer` of a `node:http` response, read as the `Response` that `nodeHttpFetch` makes of
 * it would be (same status, same `headers.get`, same bytes, same errors), without building that
 * `Response`, its `Headers` and the web stream over the socket.
 * @param release called at once when the whole body is already here: nothing left to abort.
 * @example const answer = incomingAnswer(res); const reader = answer.reader();
 */
export function incomingAnswer(res: IncomingMessage, release?: () => void): HttpAnswer {
  const status = res.statusCode ?? 0;
  const hasBody = !NULL_BODY_STATUSES.has(status);
  if (!hasBody) res.resume();
  // Made at once, as the web stream of a `Response` is: the body flows (up to the high-water mark)
  // and its errors are caught whether or not it is ever read.
  const reader = hasBody ? new IncomingReader(res, release) : null;
  return {
    status,
    ok: status >= 200 && status <= 299,
    headers: new RawHeaders(res.rawHeaders),
    hasBody,
    reader: () => reader,
  };
}

/** `Headers.get` over the raw name/value list: any case, repeated headers joined with `, `. */
class RawHeaders {
  readonly #raw: readonly string[];
  constructor(raw: readonly string[]) {
    this.#raw = raw;
  }
  get(name: string): string | null {
    const want = name.toLowerCase();
    const raw = this.#raw;
    let out: string | null = null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const key = raw[i] as string;
      if (key.length !== want.length || key.toLowerCase() !== want) continue;
      out = out === null ? (raw[i + 1] as string) : `${out}, ${raw[i + 1]}`;
    }
    return out;
  }
}

/** Node's own AbortError, as `Readable.toWeb` reports a body that closed before its end. */
function prematureClose(cause: unknown): Error {
  return Object.assign(new Error('The operation was aborted', { cause }), { name: 'AbortError', code: 'ABORT_ERR' });
}

const DONE: BodyReadResult = Object.freeze({ done: true, value: undefined });

const noop = (): void => {};

/**
 * A body reader over a `node:http` response with the behaviour of `Readable.toWeb(res).getReader()`:
 * chunks in order, the stream paused while more than its high-water mark waits unread, an early
 * close reported as an `AbortError`, any other stream error as is, `cancel` destroying the
 * response (and so its connection, when the body was not complete).
 */
class IncomingReader implements BodyReader {
  readonly #res: IncomingMessage;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #state: 'open' | 'ended' | 'errored' | 'cancelled' = 'open';
  #error: unknown;
  #waiting: { resolve(r: BodyReadResult): void; reject(e: unknown): void } | undefined;
  readonly #limit: number;
  readonly #cleanup: () => void;

  constructor(res: IncomingMessage, release: (() => void) | undefined) {
    this.#res = res;
    this.#limit = res.readableHighWaterMark;
    if (res.destroyed || !res.readable) {
      this.#state = 'cancelled';
      this.#cleanup = noop;
      return;
    }
    if (res.complete && res.readableFlowing === null) {
      // The whole body came with the head (most non-streamed answers): one read takes it and the
      // response ends by itself, its socket back to the agent, with no listener to add or remove.
      const all = res.read() as Buffer | null;
      if (all !== null) {
        this.#queue.push(all);
        this.#queued = all.byteLength;
      }
      this.#state = 'ended';
      this.#cleanup = noop;
      res.on('error', noop);
      release?.();
      return;
    }
    res.pause();
    this.#cleanup = finished(res, (error) => this.#finished(error));
    res.on('data', (chunk: Buffer) => this.#data(chunk));
    res.resume();
  }

  #data(chunk: Buffer): void {
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve({ done: false, value: chunk });
      return;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    if (this.#queued >= this.#limit) this.#res.pause();
  }

  #finished(error: unknown): void {
    this.#cleanup();
    // A stream that emits 'error' again after it finished must not crash the process.
    this.#res.on('error', noop);
    if (this.#state !== 'open') return;
    if (error) {
      this.#state = 'errored';
      this.#error = (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE' ? prematureClose(error) : error;
      // An errored web stream drops what it held unread.
      this.#queue.length = 0;
      this.#queued = 0;
    } else this.#state = 'ended';
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = undefined;
    if (this.#state === 'errored') waiting.reject(this.#error);
    else waiting.resolve(DONE);
  }

  read(): Promise<BodyReadResult> {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#queued -= chunk.byteLength;
      if (this.#state === 'open' && this.#queued < this.#limit) this.#res.resume();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#state === 'errored') return Promise.reject(this.#error);
    if (this.#state !== 'open') return Promise.resolve(DONE);
    if (this.#waiting) return Promise.reject(new TypeError('a read is already pending'));
    this.#res.resume();
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  cancel(reason?: unknown): Promise<void> {
    if (this.#state === 'errored') return Promise.reject(this.#error);
    if (this.#state !== 'open') return Promise.resolve();
    this.#state = 'cancelled';
    this.#queue.length = 0;
    this.#queued = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(DONE);
    this.#res.destroy(reason as Error | undefined);
    return Promise.resolve();
  }

  releaseLock(): void {
    // A pending read of a released web reader fails; nothing here keeps one past its caller.
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(new TypeError('the reader was released'));
  }
}
