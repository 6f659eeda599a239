import type { BodyReader } from './http-transport';

/** Bytes held ahead of a slow consumer before the read-ahead waits for it. */
export const READ_AHEAD_BYTES = 1024 * 1024;

/**
 * Reads `reader` ahead of the consumer, up to `limitBytes` of unread bytes, and yields what was
 * read, in order. Without it, bytes that reached a `fetch` body but were not read yet are thrown
 * away when the connection then breaks (an errored web stream empties its queue), so a slow
 * consumer of a cut stream would see fewer chunks than the server sent, and a different number
 * from run to run. With a read always pending, every byte received before the break is kept and
 * delivered; the read error is thrown after them.
 *
 * Reading starts with the first `next()`. `onEnd` is called when the body ended normally. Stopping
 * the iteration stops the read-ahead; the caller cancels the reader.
 * @example for await (const bytes of readAhead(res.body.getReader(), () => {})) decoder.push(bytes);
 */
export async function* readAhead(
  reader: BodyReader,
  onEnd: () => void,
  limitBytes = READ_AHEAD_BYTES,
): AsyncGenerator<Uint8Array, void, undefined> {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let finished = false;
  let failure: { readonly error: unknown } | undefined;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const wake = (which: 'consumer' | 'pump') => {
    const fn = which === 'consumer' ? wakeConsumer : wakePump;
    if (which === 'consumer') wakeConsumer = undefined;
    else wakePump = undefined;
    fn?.();
  };

  void (async () => {
    try {
      while (!stopped) {
        if (queued >= limitBytes) {
          await new Promise<void>((resolve) => {
            wakePump = resolve;
          });
          continue;
        }
        const next = await reader.read();
        if (next.done) break;
        queue.push(next.value);
        queued += next.value.byteLength;
        wake('consumer');
      }
    } catch (error) {
      failure = { error };
    }
    finished = true;
    wake('consumer');
  })();

  try {
    for (;;) {
      const bytes = queue.shift();
      if (bytes !== undefined) {
        queued -= bytes.byteLength;
        wake('pump');
        yield bytes;
        continue;
      }
      if (finished) {
        if (failure) throw failure.error;
        onEnd();
        return;
      }
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
  } finally {
    stopped = true;
    wake('pump');
  }
}
