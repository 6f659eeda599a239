import { setMaxListeners } from 'node:events';

/**
 * The signal handed on when the caller passes none, shared as cockatiel shares its own: it never
 * aborts (its controller is dropped here), so making a fresh controller per call would cost more
 * than the policy around it. Policies that would listen to it skip the listener.
 * @internal
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;
setMaxListeners(0, NEVER_ABORTED);

/** True when `signal` is absent or is `NEVER_ABORTED`: nothing to listen to. @internal */
export function cannotAbort(signal: AbortSignal | undefined): boolean {
  return signal === undefined || signal === NEVER_ABORTED;
}
