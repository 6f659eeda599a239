/** A prompt template file split into its optional YAML front matter and its body. */
export interface TemplateSource {
  /** The YAML text between the opening and closing `---` lines, if any. */
  readonly frontMatter: string | undefined;
  readonly body: string;
}

const FRONT_MATTER = /^---[ \t]*\r?\n(?:([\s\S]*?)\r?\n)?---[ \t]*(?:\r?\n|$)/;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/**
 * Splits a template file into front matter and body. The front matter is a YAML block between
 * two `---` lines at the very top; without it the whole text is the body.
 * @example splitTemplate('---\nmaxTokens: 50\n---\nHello {{name}}').body // 'Hello {{name}}'
 */
export function splitTemplate(text: string): TemplateSource {
  const match = FRONT_MATTER.exec(text);
  if (!match) return { frontMatter: undefined, body: text };
  return { frontMatter: match[1] ?? '', body: text.slice(match[0].length) };
}

/** The names of the `{{variable}}` placeholders in `text`, in order of first use. */
export function placeholders(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) names.add(m[1] as string);
  return [...names];
}

/** What rendering a template gives: the text, or the placeholders that had no value. */
export type RenderOutcome = { ok: true; text: string } | { ok: false; missing: string[] };

/**
 * Replaces every `{{variable}}` (spaces inside the braces allowed) with its value. Every
 * placeholder must have a value; a value is inserted as is, never re-scanned for placeholders.
 * @example renderTemplate('Hi {{ name }}', { name: 'Ada' }) // { ok: true, text: 'Hi Ada' }
 */
export function renderTemplate(text: string, vars: Readonly<Record<string, string | number | boolean>>): RenderOutcome {
  const missing = placeholders(text).filter((name) => !Object.hasOwn(vars, name));
  if (missing.length > 0) return { ok: false, missing };
  return { ok: true, text: text.replace(PLACEHOLDER, (_, name: string) => String(vars[name])) };
}
