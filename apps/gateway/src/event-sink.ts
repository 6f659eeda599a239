/** What `EventSink` writes to: a `ServerResponse`, or any `Writable` taking strings. */
export interface TextWritable {
  readonly destroyed: boolean;
  write(text: string): boolean;
  end(text?: string): unknown;
  /** Sends the status line and headers now (`ServerResponse.flushHeaders`). */
  flushHeaders?(): void;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * The server-sent events of one stream, written once per batch instead of once each.
 *
 * A provider's events reach the gateway a socket read at a time, several per read, and pass the
 * middlewares as promise jobs. `push` only appends; the text is written when those jobs are done
 * (a `process.nextTick`, queued by the first `push` of the batch), so a read's events leave in one
 * `write`, with one HTTP chunk header, before the gateway waits for I/O again. Nothing waits on a
 * timer: an event pushed alone is written in the same turn. The headers leave with the first
 * batch, or alone at the end of the turn the sink was made in when no event is ready then (a
 * model slow to its first token), so the caller always sees the stream start.
 *
 * Backpressure: when a write finds the socket full, `blocked` is a promise that settles on
 * `drain` (or `close`), and the stream's reader should await it before it pulls the next event.
 */
export class EventSink {
  readonly #out: TextWritable;
  #pending = '';
  #scheduled = false;
  #ended = false;
  #started = false;
  #blocked: Promise<void> | undefined;

  constructor(out: TextWritable) {
    this.#out = out;
    this.#scheduled = true;
    process.nextTick(flushSink, this);
  }

  /** Queues `text` for the batch's write. */
  push(text: string): void {
    if (this.#ended) throw new Error('EventSink: push after end');
    this.#pending += text;
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(flushSink, this);
  }

  /** Settles when the socket has room again; undefined while it has room. */
  get blocked(): Promise<void> | undefined {
    return this.#blocked;
  }

  /** Writes what is queued now. Called by the scheduled tick; harmless at any time. */
  flush(): void {
    this.#scheduled = false;
    if (this.#ended || this.#out.destroyed) return;
    const text = this.#pending;
    const first = !this.#started;
    this.#started = true;
    if (text === '') {
      if (first) this.#out.flushHeaders?.();
      return;
    }
    this.#pending = '';
    if (this.#out.write(text)) return;
    this.#blocked ??= drained(this.#out).then(() => {
      this.#blocked = undefined;
    });
  }

  /** Writes what is queued, then `last`, and ends the response in the same write. */
  end(last = ''): void {
    if (this.#ended) return;
    this.#ended = true;
    const text = this.#pending + last;
    this.#pending = '';
    if (this.#out.destroyed) return;
    if (text === '') this.#out.end();
    else this.#out.end(text);
  }
}

function flushSink(sink: EventSink): void {
  sink.flush();
}

function drained(out: TextWritable): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
