import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import type { LlmRequest } from '@rel/core';
import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import type { CompiledAssertion, CustomAssertFunction } from './assertions';
import type { CaseContext } from './case-context';
import { compileAssertion } from './compile-assertion';
import { configError, goldenSetIssue } from './config-error';
import { type GoldenTask, GoldenSetSchema, type Price, type RequestOptions } from './golden-set-schema';
import { type LoadedTemplate, loadTemplate, renderMessages } from './load-template';

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
