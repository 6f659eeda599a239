import { createPiiDetector, type PiiDetectorOptions } from './detect-pii';
import { PII_LABELS, type PiiMatch, type PiiType } from './pii-types';

/** How `redactPii` replaces a value: a typed placeholder (`[EMAIL]`) or a partial mask. */
export type RedactMode = 'redact' | 'mask';

/** Result of `redactPii`: the new text and what was replaced (offsets refer to the original). */
export interface RedactResult {
  readonly text: string;
  readonly matches: readonly PiiMatch[];
}

/**
 * Replaces every PII value in `text`. `redact` writes a typed placeholder such as `[EMAIL]`;
 * `mask` keeps the shape and a little context (`j***@example.com`, `************1111`).
 * @throws ZodError on a bad detector option.
 * @example redactPii('mail jo@example.com', { mode: 'redact' }).text // 'mail [EMAIL]'
 */
export function redactPii(text: string, options: PiiDetectorOptions & { mode?: RedactMode } = {}): RedactResult {
  const { mode = 'redact', ...detectorOptions } = options;
  const matches = createPiiDetector(detectorOptions)(text);
  return { text: replaceMatches(text, matches, (m, value) => replacement(mode, m.type, value)), matches };
}

/** Rebuilds `text` with each match replaced by `replace(match, value)`; matches must not overlap. */
export function replaceMatches(
  text: string,
  matches: readonly PiiMatch[],
  replace: (match: PiiMatch, value: string) => string,
): string {
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + replace(m, text.slice(m.start, m.end));
    at = m.end;
  }
  return out + text.slice(at);
}

/** The replacement of one value in `redact` or `mask` mode. */
export function replacement(mode: RedactMode, type: PiiType, value: string): string {
  return mode === 'redact' ? `[${PII_LABELS[type]}]` : maskValue(type, value);
}

/**
 * Masks a value, keeping its separators: an email keeps its first character and its domain, an IP
 * its last group, a secret its first four characters, a number its last four digits.
 * @example maskValue('credit_card', '4111 1111 1111 1111') // '**** **** **** 1111'
 */
export function maskValue(type: PiiType, value: string): string {
  switch (type) {
    case 'email': {
      const at = value.lastIndexOf('@');
      return `${value.slice(0, 1)}${'*'.repeat(Math.max(1, at - 1))}${value.slice(at)}`;
    }
    case 'ip_address': {
      const cut = Math.max(value.lastIndexOf('.'), value.lastIndexOf(':'));
      return value.slice(0, cut).replace(/[0-9A-Fa-f]/g, '*') + value.slice(cut);
    }
    case 'secret':
      return value.slice(0, 4) + '*'.repeat(Math.max(4, value.length - 4));
    default: {
      let keep = 4;
      let out = '';
      for (let i = value.length - 1; i >= 0; i--) {
        const ch = value[i]!;
        if (/[A-Za-z0-9]/.test(ch)) out = (keep-- > 0 ? ch : '*') + out;
        else out = ch + out;
      }
      return out;
    }
  }
}
