/**
 * True when one of `words` appears in the text just before `start` on the same line, or on the
 * previous line when the value starts its own line (a `Phone:` label above the number). Looking
 * only at that window keeps a label from leaking onto values further down.
 */
export function hasContextBefore(text: string, start: number, words: RegExp, window = 48): boolean {
  const before = text.slice(Math.max(0, start - window), start);
  const lines = before.split('\n');
  const same = lines[lines.length - 1] ?? '';
  if (words.test(same)) return true;
  if (same.trim() === '' && lines.length >= 2) return words.test(lines[lines.length - 2] ?? '');
  return false;
}

/** True when one of `words` follows `end` at once, after at most a space, a dash or a colon. */
export function hasLabelAfter(text: string, end: number, words: RegExp): boolean {
  const after = text.slice(end, end + 24);
  const m = /^[\s\-:(]{0,3}([A-Za-z]+)/.exec(after);
  return m !== null && words.test(m[1] ?? '');
}
