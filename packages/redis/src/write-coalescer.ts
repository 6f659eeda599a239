/** The socket side of a stream that `WriteCoalescer` corks: Node's `cork` / `uncork`. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Holds a connection's writes back until `max` commands have been written or the current turn
 * ends (`process.nextTick`), then lets them leave in one socket write (`writev`). Unlike ioredis
 * auto-pipelining, which holds every command of a turn until the turn ends, the commands go in
 * groups of `max` while the turn is still running, so Redis works on one group while the client
 * issues the next: under concurrency that saves most per-command write system calls on both sides
 * without making client and server take turns.
 * @example
 * const writes = new WriteCoalescer(8);
 * writes.hold(client.stream); // before each client.sendCommand(...)
 * writes.sent();              // after it
 */
export class WriteCoalescer {
  readonly #max: number;
  #held = 0;
  #stream: Corkable | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  /** Corks `stream` for the command about to be written, unless it already is. */
  hold(stream: Corkable): void {
    if (this.#stream === stream) return;
    this.release();
    stream.cork();
    this.#stream = stream;
    process.nextTick(this.release);
  }

  /** Counts one command written; the `max`-th lets the held ones leave at once. */
  sent(): void {
    if (++this.#held >= this.#max) this.release();
  }

  /** Lets the held commands leave now. */
  readonly release = (): void => {
    const stream = this.#stream;
    if (stream === undefined) return;
    this.#stream = undefined;
    this.#held = 0;
    stream.uncork();
  };
}
