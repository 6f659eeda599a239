import { dirname, resolve } from 'node:path';
import type { ChatMessage, ResponseFormat } from '@rel/core';
import { parseDocument } from 'yaml';
import { type CaseContext, parseJsonFile } from './case-context';
import { configError } from './config-error';
import { type RequestOptions, TemplateFrontMatterSchema } from './golden-set-schema';
import { renderTemplate, splitTemplate } from './template';

/** A template file read once per set: its front matter's system message and options, and its body. @internal */
export interface LoadedTemplate {
  readonly rel: string;
  readonly system: string | undefined;
  readonly body: string;
  readonly options: RequestOptions;
}

/** Reads a template (once per path for the whole set), relative to the golden set. @internal */
export function loadTemplate(ctx: CaseContext, path: string, field: string): Promise<LoadedTemplate> {
  const abs = resolve(ctx.dir, path);
  let loading = ctx.templates.get(abs);
  if (!loading) {
    loading = readTemplate(ctx, abs, path, field);
    ctx.templates.set(abs, loading);
  }
  return loading;
}

async function readTemplate(ctx: CaseContext, abs: string, path: string, field: string): Promise<LoadedTemplate> {
  const text = await ctx.readAsset(abs, `template ${path}`, ctx.where, field);
  const { frontMatter, body } = splitTemplate(text);
  const display = ctx.rel(abs);
  let options: RequestOptions = {};
  let system: string | undefined;
  if (frontMatter !== undefined) {
    const doc = parseDocument(frontMatter, { uniqueKeys: true });
    if (doc.errors[0]) {
      throw configError(
        display,
        'front matter',
        '',
        `invalid YAML: ${doc.errors[0].message.split('\n')[0]}`,
        doc.errors[0],
      );
    }
    const fm = TemplateFrontMatterSchema.safeParse(doc.toJS() ?? {});
    if (!fm.success) {
      const issue = fm.error.issues[0];
      const at = (issue?.path ?? []).map(String).join('.');
      throw configError(display, 'front matter', at, issue?.message ?? 'invalid', fm.error);
    }
    const { system: s, responseFormat, ...rest } = fm.data;
    system = s;
    options = { ...rest };
    if (responseFormat) {
      let format: ResponseFormat;
      if ('schemaFile' in responseFormat) {
        const schemaPath = resolve(dirname(abs), responseFormat.schemaFile);
        const schema = parseJsonFile(
          await ctx.readAsset(
            schemaPath,
            responseFormat.schemaFile,
            `${display} front matter`,
            'responseFormat.schemaFile',
          ),
          display,
          'responseFormat.schemaFile',
        );
        format = {
          type: 'json_schema',
          name: responseFormat.name,
          schema,
          ...(responseFormat.strict === undefined ? {} : { strict: responseFormat.strict }),
        };
      } else format = responseFormat;
      options.responseFormat = format;
    }
  }
  return { rel: display, system, body, options };
}

/**
 * The messages of a case: the template's system message and body with the case's variables.
 * @throws RelError `invalid_request` naming the case and the placeholders without a value.
 * @internal
 */
export function renderMessages(
  ctx: CaseContext,
  template: LoadedTemplate,
  vars: Readonly<Record<string, string | number | boolean>>,
): ChatMessage[] {
  const render = (text: string) => {
    const out = renderTemplate(text, vars);
    if (out.ok) return out.text;
    const names = out.missing.map((m) => `{{${m}}}`).join(', ');
    throw configError(
      ctx.file,
      ctx.where,
      'vars',
      `template ${template.rel} uses ${names} but the case gives no value`,
    );
  };
  const messages: ChatMessage[] = [];
  if (template.system !== undefined) messages.push({ role: 'system', content: render(template.system) });
  messages.push({ role: 'user', content: render(template.body.replace(/\n$/, '')) });
  return messages;
}
