/** `0.873` → `87.3%`. */
export const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Milliseconds, rounded. */
export const millis = (x: number): string => `${Math.round(x)} ms`;

/** USD with enough digits for fractions of a cent. */
export const usd = (x: number | undefined): string =>
  x === undefined ? 'n/a' : x === 0 ? '$0' : x >= 0.01 ? `$${x.toFixed(4)}` : `$${x.toPrecision(3)}`;

/**
 * Escapes text for HTML element content and attribute values.
 * @example escapeHtml('<a href="x">') // '&lt;a href=&quot;x&quot;&gt;'
 */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Escapes text for a markdown table cell: pipes, backslashes, HTML and line breaks.
 * @example escapeMarkdownCell('a|b') // 'a\\|b'
 */
export function escapeMarkdownCell(text: string): string {
  return text
    .replaceAll('\\', '\\\\')
    .replaceAll('|', '\\|')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('`', '\\`')
    .replace(/\r?\n/g, ' ');
}
