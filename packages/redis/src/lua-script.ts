import { createHash } from 'node:crypto';
import { type Cluster, Command, type Redis } from 'ioredis';

/** What `LuaScript` needs of an ioredis client: EVALSHA and EVAL, arrays of arguments flattened. */
interface Evaluator {
  evalsha(sha: string, numKeys: number, args: readonly (string | number)[]): Promise<unknown>;
  eval(lua: string, numKeys: number, args: readonly (string | number)[]): Promise<unknown>;
}

type Args = readonly (string | number)[];

/**
 * A Lua script run with EVALSHA once the connection has seen it. Its first run on each connection
 * (a standalone client's socket, so again after every reconnect) goes out as EVAL, which also caches
 * it on the server, so a script never fails NOSCRIPT in the common case; if it still does (a
 * `SCRIPT FLUSH`, or a Cluster node), it is sent again as EVAL.
 *
 * ioredis's own `defineCommand` does the same per socket, but under auto-pipelining it takes each
 * pipeline for a new socket, so the first script of every pipeline went out as EVAL with the whole
 * source (kilobytes written by the client and hashed by the server on every event-loop turn).
 * @example
 * const script = new LuaScript("return redis.call('GET', KEYS[1])");
 * await script.run(client, 1, ['k']);
 */
export class LuaScript {
  readonly lua: string;
  /** SHA-1 of the source, as EVALSHA and `SCRIPT LOAD` name it. */
  readonly sha: string;
  /** The sockets this script was sent on in full. */
  readonly #sent = new WeakSet<object>();

  constructor(lua: string) {
    this.lua = lua;
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /**
   * Runs the script with `numKeys` keys first in `args`, then its ARGV.
   * @throws the client's error (connection, timeout, script error) unchanged.
   */
  run(client: Redis | Cluster, numKeys: number, args: Args): Promise<unknown> {
    const c = client as unknown as Evaluator;
    return this.#run(
      client,
      () => c.eval(this.lua, numKeys, args),
      () => c.evalsha(this.sha, numKeys, args),
    );
  }

  /**
   * Like `run`, but the command goes to the socket at once, outside ioredis auto-pipelining (whose
   * per-turn pipeline costs a batch that is already one command CPU and a `setImmediate`). For
   * callers that gather their own batches; the client's `keyPrefix` still applies.
   * @throws the client's error (connection, timeout, script error) unchanged.
   */
  runNow(client: Redis, numKeys: number, args: Args): Promise<unknown> {
    const options = { keyPrefix: client.options.keyPrefix, replyEncoding: 'utf8' as const };
    return this.#run(
      client,
      () =>
        client.sendCommand(
          new Command('eval', [this.lua, numKeys, args as (string | number)[]], options),
        ) as Promise<unknown>,
      () =>
        client.sendCommand(
          new Command('evalsha', [this.sha, numKeys, args as (string | number)[]], options),
        ) as Promise<unknown>,
    );
  }

  /** EVAL on a socket's first run, else EVALSHA with EVAL again on NOSCRIPT. */
  #run(client: Redis | Cluster, full: () => Promise<unknown>, bySha: () => Promise<unknown>): Promise<unknown> {
    const socket = (client as { stream?: object }).stream;
    if (socket && !this.#sent.has(socket)) {
      this.#sent.add(socket);
      return full();
    }
    return bySha().catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return full();
    });
  }
}
