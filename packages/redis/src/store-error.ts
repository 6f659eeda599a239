import { RelError } from '@rel/core';

/**
 * Replies with which a server says it cannot serve right now (loading its data, busy with a script,
 * failing over, cluster down), not that the command was wrong: they count as Redis unavailable.
 */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)\b/;

/** True for an error Redis answered with (ioredis `ReplyError`), by name so a second copy of ioredis counts too. */
export function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * The one mapping of a failed store call to a `RelError`, for every `RedisStore` method, batched or
 * not. A reply error of Redis (WRONGTYPE, OOM, CROSSSLOT, a NOSCRIPT that could not be recovered, a
 * script error) is `internal`: the same call would fail again. Anything else (connection closed,
 * command timeout, `MaxRetriesPerRequestError`, a client that is not connected) and the replies
 * of a server that cannot serve right now (LOADING, BUSY, READONLY, ...) are
 * `dependency_unavailable` with `dependency: 'redis'`. Either way `cause` is the original error and
 * the message names the call and its Redis keys. A `RelError` passes through unchanged.
 * Build it only on the rejection path: it formats the keys.
 * @param operation the store method (`acquire`, `settle`, ...), with any context after it.
 * @param keys the Redis keys of the call, prefix included.
 * @example
 * try { return await script.run(c, 1, [key]) } catch (e) { throw storeError('total', [key], e) }
 */
export function storeError(operation: string, keys: readonly string[], cause: unknown): RelError {
  if (RelError.is(cause)) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const message = `redis ${operation} of ${keys.map((k) => JSON.stringify(k)).join(', ')}: ${reason}`;
  if (isReplyError(cause) && !UNAVAILABLE_REPLY.test(reason)) {
    return new RelError({ kind: 'internal', message }, { cause });
  }
  return new RelError({ kind: 'dependency_unavailable', dependency: 'redis' }, { message, cause });
}
