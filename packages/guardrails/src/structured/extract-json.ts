import { jsonrepair } from 'jsonrepair';

/** The outcome of `parseJsonLoose`: the value, and whether it needed a repair. */
export type LooseJson = { ok: true; value: unknown; repaired: boolean } | { ok: false; error: string };

const FENCE = /```[ \t]*([A-Za-z0-9_-]*)[^\n]*\n([\s\S]*?)(?:```|$)/g;

/**
 * The JSON text inside a model's answer: the first code fence that holds JSON (` ```json ` or a
 * bare fence starting with `{` or `[`), else the first balanced `{...}` or `[...]` in the prose
 * (to the end of the text when the answer was cut off), else the whole text.
 * @example extractJson('Sure! ```json\n{"a":1}\n``` Hope it helps.') // '{"a":1}'
 */
export function extractJson(text: string): string {
  for (const m of text.matchAll(FENCE)) {
    const lang = (m[1] ?? '').toLowerCase();
    const body = (m[2] ?? '').trim();
    if (lang === 'json' || lang === 'json5' || /^[[{]/.test(body)) return body;
  }
  const start = text.search(/[[{]/);
  if (start < 0) return text.trim();
  return text.slice(start, balancedEnd(text, start)).trim();
}

/** Index just past the bracket closing the one at `start`, ignoring brackets inside strings. */
function balancedEnd(text: string, start: number): number {
  const stack: string[] = [];
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '{' || ch === '[') stack.push(ch === '{' ? '}' : ']');
    else if (ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return i + 1;
      if (stack.length === 0) return i + 1;
    }
  }
  return text.length;
}

/**
 * Parses JSON found in `text` (see `extractJson`), repairing an object or array with `jsonrepair`
 * when strict parsing fails (trailing commas, single quotes, unquoted keys, comments, cut-off
 * endings). Prose with no JSON in it is an error, never repaired into a string.
 * @example parseJsonLoose("{'a': 1,}") // { ok: true, value: { a: 1 }, repaired: true }
 */
export function parseJsonLoose(text: string): LooseJson {
  const candidate = extractJson(text);
  try {
    return { ok: true, value: JSON.parse(candidate), repaired: false };
  } catch (error) {
    // Only a bracketed candidate is repaired: jsonrepair would turn plain prose into a string.
    if (!/^[[{]/.test(candidate)) return { ok: false, error: `not JSON: ${describe(error)}` };
    try {
      return { ok: true, value: JSON.parse(jsonrepair(candidate)), repaired: true };
    } catch (error) {
      return { ok: false, error: `not JSON: ${describe(error)}` };
    }
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
