import type { Abortable } from '@rel/core';

/**
 * A child signal that follows `parent` (same abort reason) until `release` is called. Each HTTP
 * call gets its own, so `fetch` hangs its listeners on a signal that dies with the call, while
 * the listener on the long-lived parent is removed as soon as the call is over. The parent is
 * followed through `onAbort`, so a parent whose own signal was never read (a request timer's)
 * makes none.
 * @example
 * const link = linkSignal(ctx);
 * try { await fetch(url, { signal: link.signal }); } finally { link.release(); }
 */
export function linkSignal(parent: Abortable): { readonly signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.signal.reason);
    return { signal: controller.signal, release: () => {} };
  }
  const release = parent.onAbort(() => controller.abort(parent.signal.reason));
  return { signal: controller.signal, release };
}
