import type { StreamChunk } from '../response';

/**
 * Starts a `next`, a `return` and another `next` on `it` at once, without awaiting in between, and
 * resolves with the order in which they settled: `read <chunk type | done>`, `closed <done>`,
 * `after <done>`. A stream wrapper that keeps its calls in order, as an async generator does (see
 * `CallGate`), settles the first read before the other two. For stream wrappers' tests.
 * @example
 * const order = await overlappingCalls(res.chunks[Symbol.asyncIterator]());
 * expect(order[0]).toBe('read text-delta');
 */
export async function overlappingCalls(it: AsyncIterator<StreamChunk>): Promise<string[]> {
  const order: string[] = [];
  const read = it.next().then((r) => order.push(`read ${r.done ? 'done' : r.value.type}`));
  const close = it.return?.().then((r) => order.push(`closed ${r.done}`));
  const after = it.next().then((r) => order.push(`after ${r.done}`));
  await Promise.all([read, close, after]);
  return order;
}
