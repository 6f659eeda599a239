import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChatMessage, LlmRequest, ResponseFormat } from '@rel/core';
import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import {
  type CompiledAssertion,
  type CustomAssertFunction,
  containsAssertion,
  customAssertion,
  equalsAssertion,
  jsonSchemaAssertion,
  maxCostAssertion,
  maxLatencyAssertion,
  regexAssertion,
} from './assertions';
import { configError, goldenSetIssue } from './config-error';
import {
  type Assertion,
  type GoldenTask,
  GoldenSetSchema,
  type Price,
  type RequestOptions,
  TemplateFrontMatterSchema,
} from './golden-set-schema';
import { renderTemplate, splitTemplate } from './template';

/** Default gate threshold: a task regresses only when its pass rate drops by more than 10 points. */
export const DEFAULT_THRESHOLD = 0.1;
/** Default significance level of the one-sided Fisher exact test. */
export const DEFAULT_ALPHA = 0.05;

/** One case ready to run: the request to send and the compiled assertions. */
export interface LoadedCase {
  readonly id: string;
  readonly task: string;
  readonly request: LlmRequest;
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  /** The template path relative to the golden set, when the case uses one. */
  readonly template?: string;
  readonly assertions: readonly CompiledAssertion[];
}

/** One business task with its gate settings resolved. */
export interface LoadedTask {
  readonly name: string;
  readonly critical: boolean;
  readonly threshold: number;
  readonly alpha: number;
  readonly cases: readonly LoadedCase[];
}

/** A validated golden set with its templates rendered and its assertions compiled. */
export interface LoadedGoldenSet {
  /** The path as given, for messages and reports. */
  readonly file: string;
  readonly name: string;
  readonly prices: Readonly<Record<string, Price>>;
  readonly tasks: readonly LoadedTask[];
  /**
   * Every file the set is made of, keyed by its path relative to the golden set's folder (with
   * `/`): the golden set itself, templates, schema files and assertion modules. Text with `\n` line ends.
   */
  readonly assets: ReadonlyMap<string, string>;
}

/**
 * Reads, validates and resolves a golden set file: templates are read and rendered with each
 * case's variables, JSON schemas compiled and assertion modules imported, so that every mistake
 * surfaces before the first call.
 * @param file path of the YAML file (relative to the working directory or absolute).
 * @throws RelError `invalid_request` whose message names the file, the task and case and the field.
 * @example const set = await loadGoldenSet('evals/golden.yaml');
 */
export async function loadGoldenSet(file: string): Promise<LoadedGoldenSet> {
  const abs = resolve(file);
  const dir = dirname(abs);
  const assets = new Map<string, string>();
  const rel = (p: string) => relative(dir, p).split(sep).join('/');
  const readAsset = async (path: string, display: string, where: string | undefined, field: string) => {
    try {
      const text = (await readFile(path, 'utf8')).replace(/\r\n/g, '\n');
      assets.set(rel(path), text);
      return text;
    } catch (e) {
      throw configError(file, where, field, `cannot read ${display}: ${(e as NodeJS.ErrnoException).code ?? e}`, e);
    }
  };

  const text = await readAsset(abs, file, undefined, '');
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = yamlError.linePos?.[0];
    throw configError(
      pos ? `${file}:${pos.line}:${pos.col}` : file,
      undefined,
      '',
      `invalid YAML: ${yamlError.message.split('\n')[0]}`,
      yamlError,
    );
  }
  const raw: unknown = doc.toJS();
  const parsed = GoldenSetSchema.safeParse(raw);
  if (!parsed.success) throw goldenSetIssue(file, raw, parsed.error);
  const set = parsed.data;
  const prices = set.prices ?? {};
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const templates = new Map<string, Promise<LoadedTemplate>>();
  const modules = new Map<string, Promise<CustomAssertFunction>>();

  const tasks: LoadedTask[] = [];
  for (const task of set.tasks) {
    const cases: LoadedCase[] = [];
    for (const c of task.cases) {
      const where = `task ${JSON.stringify(task.name)}, case ${JSON.stringify(c.id)}`;
      const ctx: CaseContext = { file, dir, where, readAsset, templates, modules, ajv, rel };
      const templatePath = c.messages ? undefined : (c.template ?? task.template);
      const field = c.template ? 'template' : `(task template)`;
      const template = templatePath === undefined ? undefined : await loadTemplate(ctx, templatePath, field);
      const options: RequestOptions = {
        ...set.request,
        ...task.request,
        ...template?.options,
        ...c.request,
      };
      const headers = {
        ...set.request?.headers,
        ...task.request?.headers,
        ...template?.options.headers,
        ...c.request?.headers,
      };
      const vars = c.vars ?? {};
      const messages = c.messages ?? renderMessages(ctx, template as LoadedTemplate, vars);
      const model = options.model ?? set.model;
      const request: LlmRequest = {
        model,
        messages,
        ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
        ...(options.responseFormat === undefined ? {} : { responseFormat: options.responseFormat }),
        ...(Object.keys(headers).length ? { metadata: headers } : {}),
      };
      const assertions: CompiledAssertion[] = [];
      for (const [i, a] of c.assert.entries()) {
        assertions.push(await compileAssertion(ctx, a, `assert[${i}]`, model, prices));
      }
      cases.push({
        id: c.id,
        task: task.name,
        request,
        vars,
        ...(template ? { template: template.rel } : {}),
        assertions,
      });
    }
    tasks.push(resolveTask(task, set.gate, cases));
  }
  return { file, name: set.name ?? rel(abs), prices, tasks, assets };
}

function resolveTask(
  task: GoldenTask,
  gate: { threshold?: number | undefined; alpha?: number | undefined } | undefined,
  cases: LoadedCase[],
): LoadedTask {
  return {
    name: task.name,
    critical: task.critical,
    threshold: task.threshold ?? gate?.threshold ?? DEFAULT_THRESHOLD,
    alpha: task.alpha ?? gate?.alpha ?? DEFAULT_ALPHA,
    cases,
  };
}

interface CaseContext {
  readonly file: string;
  readonly dir: string;
  readonly where: string;
  readonly readAsset: (path: string, display: string, where: string | undefined, field: string) => Promise<string>;
  readonly templates: Map<string, Promise<LoadedTemplate>>;
  readonly modules: Map<string, Promise<CustomAssertFunction>>;
  readonly ajv: Ajv;
  readonly rel: (path: string) => string;
}

interface LoadedTemplate {
  readonly rel: string;
  readonly system: string | undefined;
  readonly body: string;
  readonly options: RequestOptions;
}

function loadTemplate(ctx: CaseContext, path: string, field: string): Promise<LoadedTemplate> {
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

function renderMessages(
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

async function compileAssertion(
  ctx: CaseContext,
  a: Assertion,
  field: string,
  model: string,
  prices: Readonly<Record<string, Price>>,
): Promise<CompiledAssertion> {
  switch (a.type) {
    case 'equals':
      return equalsAssertion(a.value, a.path);
    case 'contains':
      return containsAssertion(a.value, a.ignoreCase);
    case 'regex':
      return regexAssertion(a.pattern, a.flags);
    case 'jsonSchema': {
      let schema = a.schema;
      let name = 'the inline schema';
      if (a.schemaFile !== undefined) {
        const text = await ctx.readAsset(
          resolve(ctx.dir, a.schemaFile),
          a.schemaFile,
          ctx.where,
          `${field}.schemaFile`,
        );
        schema = parseJsonFile(text, ctx.file, `${ctx.where}: ${field}.schemaFile`);
        name = a.schemaFile;
      }
      try {
        return jsonSchemaAssertion(ctx.ajv.compile(schema ?? {}), name);
      } catch (e) {
        throw configError(ctx.file, ctx.where, `${field}.schema`, `invalid JSON Schema: ${(e as Error).message}`, e);
      }
    }
    case 'custom': {
      const abs = resolve(ctx.dir, a.module);
      let loading = ctx.modules.get(abs);
      if (!loading) {
        loading = importAssertion(ctx, abs, a.module, `${field}.module`);
        ctx.modules.set(abs, loading);
      }
      return customAssertion(await loading, a.module, a.options);
    }
    case 'maxLatencyMs':
      return maxLatencyAssertion(a.value);
    case 'maxCostUsd':
      if (!Object.hasOwn(prices, model)) {
        throw configError(
          ctx.file,
          ctx.where,
          field,
          `maxCostUsd needs a price for model ${JSON.stringify(model)} under prices`,
        );
      }
      return maxCostAssertion(a.value);
  }
}

async function importAssertion(
  ctx: CaseContext,
  abs: string,
  path: string,
  field: string,
): Promise<CustomAssertFunction> {
  await ctx.readAsset(abs, `assertion module ${path}`, ctx.where, field);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw configError(ctx.file, ctx.where, field, `cannot import ${path}: ${(e as Error).message}`, e);
  }
  const fn = mod.assert;
  if (typeof fn !== 'function')
    throw configError(ctx.file, ctx.where, field, `${path} does not export a function named assert`);
  return fn as CustomAssertFunction;
}

function parseJsonFile(text: string, file: string, field: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    throw new Error('a JSON Schema must be an object');
  } catch (e) {
    throw configError(file, undefined, field, `invalid JSON: ${(e as Error).message}`, e);
  }
}
