import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
import { type CaseContext, parseJsonFile } from './case-context';
import { configError } from './config-error';
import type { Assertion, Price } from './golden-set-schema';

/**
 * Compiles one assertion of a case: reads and compiles its JSON Schema, imports its custom module
 * (once per path for the whole set), checks that a cost limit has a price.
 * @throws RelError `invalid_request` naming the case and the assertion's field.
 * @internal
 */
export async function compileAssertion(
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
