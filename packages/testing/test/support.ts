import type { WireError, completionBody } from '../src/openai-wire';

/** The parsed `chat.completion` body, for tests. */
export type WireCompletion = ReturnType<typeof completionBody>;

/** A request body with one user message, for tests. */
export function chatBody(
  model: string,
  extra: Record<string, unknown> = {},
  content = 'Say something useful.',
): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra });
}

/** POSTs to `${baseURL}/chat/completions`. */
export function postChat(
  baseURL: string,
  payload: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test', ...headers },
    body: payload,
    ...(signal ? { signal } : {}),
  });
}

/** Reads a response body as text until it ends or fails; a failure is returned, not thrown. */
export async function readRaw(res: Response): Promise<{ text: string; error?: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** Reads SSE text until at least `count` events arrived (or the body ended). */
export async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
  state: { text: string },
): Promise<void> {
  const decoder = new TextDecoder();
  while ((state.text.match(/\n\n/g) ?? []).length < count) {
    const { done, value } = await reader.read();
    if (done) return;
    state.text += decoder.decode(value, { stream: true });
  }
}

/** Resolves to 'pending' if `p` has not settled after a few turns of the event loop and `ms` of real time. */
export async function stillPending(p: Promise<unknown>, ms = 20): Promise<boolean> {
  const marker = Symbol('pending');
  const result = await Promise.race([
    p.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((r) => setTimeout(() => r(marker), ms)),
  ]);
  return result === marker;
}

/** Reads an OpenAI error body. */
export async function errorOf(res: Response): Promise<WireError['error']> {
  return ((await res.json()) as WireError).error;
}
