/**
 * A child signal that follows `parent` (same abort reason) until `release` is called. Each HTTP
 * call gets its own, so `fetch` hangs its listeners on a signal that dies with the call, while
 * the listener on the long-lived parent is removed as soon as the call is over.
 * @example
 * const link = linkSignal(ctx.signal);
 * try { await fetch(url, { signal: link.signal }); } finally { link.release(); }
 */
export function linkSignal(parent: AbortSignal): { readonly signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, release: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, release: () => parent.removeEventListener('abort', onAbort) };
}
