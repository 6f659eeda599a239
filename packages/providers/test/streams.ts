import { RequestContext, type StreamChunk } from '@rel/core';
import { guardStream, type StreamDecoder } from '../src/guard-stream';

/** A byte stream delivering `parts` one per read, as network chunks arrive. */
export function streamOf(parts: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[i++];
      if (part === undefined) controller.close();
      else controller.enqueue(part);
    },
  });
}

/** Splits bytes at the given cut points (taken modulo the length). */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(bytes.slice(last, p));
    last = p;
  }
  parts.push(bytes.slice(last));
  return parts;
}

/** Runs bytes through `guardStream` with `decode`; returns the chunks and what was thrown, if anything. */
export async function run(
  parts: readonly Uint8Array[],
  decode: StreamDecoder,
  ctx = new RequestContext(),
): Promise<{ chunks: StreamChunk[]; error: unknown; ctx: RequestContext }> {
  const chunks: StreamChunk[] = [];
  try {
    for await (const c of guardStream(streamOf(parts), ctx, decode)) chunks.push(c);
  } catch (error) {
    return { chunks, error, ctx };
  }
  return { chunks, error: undefined, ctx };
}
