/** The event that ends an OpenAI stream. */
export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * Formats one server-sent event carrying `data` (JSON-encoded unless it is already a string).
 * @example sseEvent({ a: 1 }) // 'data: {"a":1}\n\n'
 */
export function sseEvent(data: unknown): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return `${text
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}

/**
 * Splits raw SSE text into the `data` payloads of its events, in order (multi-line data joined by
 * `\n`; comments and other fields skipped; an unterminated last event is included). Handy for
 * asserting on what went over the wire.
 * @example sseData('data: {"a":1}\n\ndata: [DONE]\n\n') // ['{"a":1}', '[DONE]']
 */
export function sseData(text: string): string[] {
  const out: string[] = [];
  for (const block of text.replace(/\r\n?/g, '\n').split('\n\n')) {
    const lines = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (lines.length > 0) out.push(lines.join('\n'));
  }
  return out;
}
