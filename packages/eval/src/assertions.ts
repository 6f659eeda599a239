import { isDeepStrictEqual } from 'node:util';
import type { Completion, LlmRequest } from '@rel/core';
import type { ValidateFunction } from 'ajv';

/** What a case produced on one run, as assertions see it. */
export interface CaseOutput {
  /** The answer's text; for a tool call, its arguments. */
  readonly text: string;
  readonly completion: Completion;
  readonly latencyMs: number;
  /** Undefined when the price table has no price for the model. */
  readonly costUsd: number | undefined;
}

/** What a custom assertion module receives as its second argument. */
export interface CustomAssertionContext {
  readonly task: string;
  readonly caseId: string;
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  readonly request: LlmRequest;
  readonly completion: Completion;
  readonly latencyMs: number;
  readonly costUsd: number | undefined;
  /** The assertion's `options` from the golden set. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** The function a custom assertion module exports as `assert`. */
export type CustomAssertFunction = (
  output: string,
  ctx: CustomAssertionContext,
) => boolean | { pass: boolean; message?: string } | Promise<boolean | { pass: boolean; message?: string }>;

/** The verdict of one assertion on one run. */
export interface AssertionResult {
  readonly pass: boolean;
  /** Why it failed (or a note from a custom assertion). */
  readonly message?: string;
}

/** An assertion ready to check outputs: its label for reports and its check. */
export interface CompiledAssertion {
  readonly label: string;
  check(
    output: CaseOutput,
    ctx: Omit<CustomAssertionContext, 'options' | 'completion' | 'latencyMs' | 'costUsd'>,
  ): Promise<AssertionResult>;
}

const fail = (message: string): AssertionResult => ({ pass: false, message });
const PASS: AssertionResult = { pass: true };

/**
 * Output text equals `expected` (trimmed), or, with `path`, the value at that dotted path of the
 * JSON output deep-equals `expected`.
 * @example equalsAssertion('EUR', 'currency')
 */
export function equalsAssertion(expected: unknown, path?: string): CompiledAssertion {
  return {
    label:
      path === undefined
        ? `equals ${short(JSON.stringify(expected))}`
        : `${path} equals ${short(JSON.stringify(expected))}`,
    async check(output) {
      if (path === undefined) {
        const text = output.text.trim();
        return text === String(expected)
          ? PASS
          : fail(`expected ${short(JSON.stringify(String(expected)))}, got ${short(JSON.stringify(text))}`);
      }
      const parsed = parseJson(output.text);
      if (!parsed.ok) return fail(`output is not JSON (${parsed.error})`);
      const found = valueAt(parsed.value, path);
      if (!found.ok) return fail(`output has no ${path}`);
      return isDeepStrictEqual(found.value, expected)
        ? PASS
        : fail(`${path}: expected ${short(JSON.stringify(expected))}, got ${short(JSON.stringify(found.value))}`);
    },
  };
}

/** Output contains `needle`. */
export function containsAssertion(needle: string, ignoreCase = false): CompiledAssertion {
  return {
    label: `contains ${short(JSON.stringify(needle))}${ignoreCase ? ' (any case)' : ''}`,
    async check(output) {
      const found = ignoreCase
        ? output.text.toLowerCase().includes(needle.toLowerCase())
        : output.text.includes(needle);
      return found ? PASS : fail(`output does not contain ${short(JSON.stringify(needle))}`);
    },
  };
}

/** Output matches the regular expression. */
export function regexAssertion(pattern: string, flags = ''): CompiledAssertion {
  const regex = new RegExp(pattern, flags.replace('g', '').replace('y', ''));
  return {
    label: `matches /${short(pattern)}/${flags}`,
    async check(output) {
      return regex.test(output.text) ? PASS : fail(`output does not match /${short(pattern)}/${flags}`);
    },
  };
}

/** Output is JSON valid against a compiled JSON Schema. */
export function jsonSchemaAssertion(validate: ValidateFunction, name: string): CompiledAssertion {
  return {
    label: `valid against ${name}`,
    async check(output) {
      const parsed = parseJson(output.text);
      if (!parsed.ok) return fail(`output is not JSON (${parsed.error})`);
      if (validate(parsed.value)) return PASS;
      const issues = (validate.errors ?? [])
        .slice(0, 3)
        .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
      return fail(`not valid against ${name}: ${issues.join('; ')}`);
    },
  };
}

/** A custom assertion module's `assert`; a throw or a non-boolean answer is a failure. */
export function customAssertion(
  fn: CustomAssertFunction,
  name: string,
  options: Readonly<Record<string, unknown>> = {},
): CompiledAssertion {
  return {
    label: `custom ${name}`,
    async check(output, ctx) {
      try {
        const verdict = await fn(output.text, {
          ...ctx,
          completion: output.completion,
          latencyMs: output.latencyMs,
          costUsd: output.costUsd,
          options,
        });
        if (typeof verdict === 'boolean') return verdict ? PASS : fail(`${name} returned false`);
        if (typeof verdict === 'object' && verdict !== null && typeof verdict.pass === 'boolean') {
          if (verdict.pass) return verdict.message ? { pass: true, message: verdict.message } : PASS;
          return fail(verdict.message ? `${name}: ${verdict.message}` : `${name} returned pass: false`);
        }
        return fail(`${name} returned neither a boolean nor { pass, message }`);
      } catch (e) {
        return fail(`${name} threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}

/** The call took at most `max` milliseconds. */
export function maxLatencyAssertion(max: number): CompiledAssertion {
  return {
    label: `latency <= ${max} ms`,
    async check(output) {
      return output.latencyMs <= max ? PASS : fail(`latency ${Math.round(output.latencyMs)} ms > ${max} ms`);
    },
  };
}

/** The call cost at most `max` USD. */
export function maxCostAssertion(max: number): CompiledAssertion {
  return {
    label: `cost <= ${max} USD`,
    async check(output) {
      if (output.costUsd === undefined) return fail(`no price for model ${output.completion.model}`);
      return output.costUsd <= max ? PASS : fail(`cost ${output.costUsd.toPrecision(3)} USD > ${max} USD`);
    },
  };
}

type JsonOutcome = { ok: true; value: unknown } | { ok: false; error: string };

function parseJson(text: string): JsonOutcome {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

function valueAt(value: unknown, path: string): { ok: true; value: unknown } | { ok: false } {
  let v = value;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return { ok: false };
    v = (v as Record<string, unknown>)[key];
  }
  return { ok: true, value: v };
}

function short(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
