import { ChatMessageSchema, ResponseFormatSchema } from '@rel/core';
import { z } from 'zod';

const regexSource = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a valid regular expression' },
);

/** One check of a case's output. Paths (`schemaFile`, `module`) are relative to the golden set file. */
export const AssertionSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('equals'),
    value: z.unknown(),
    /** Dotted path into the JSON output (`total`, `lines.0.sku`); without it the whole trimmed text is compared. */
    path: z.string().min(1).optional(),
  }),
  z.strictObject({
    type: z.literal('contains'),
    value: z.string().min(1),
    ignoreCase: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('regex'),
    pattern: regexSource,
    flags: z
      .string()
      .regex(/^[dgimsuyv]*$/, 'must be regular expression flags')
      .optional(),
  }),
  z
    .strictObject({
      type: z.literal('jsonSchema'),
      schema: z.record(z.string(), z.unknown()).optional(),
      schemaFile: z.string().min(1).optional(),
    })
    .refine((a) => (a.schema === undefined) !== (a.schemaFile === undefined), {
      message: 'give exactly one of schema or schemaFile',
    }),
  z.strictObject({
    type: z.literal('custom'),
    /** A module exporting `assert(output, ctx) => boolean | { pass, message }`. */
    module: z.string().min(1),
    /** Passed to the module as `ctx.options`. */
    options: z.record(z.string(), z.unknown()).optional(),
  }),
  z.strictObject({ type: z.literal('maxLatencyMs'), value: z.number().positive() }),
  z.strictObject({ type: z.literal('maxCostUsd'), value: z.number().positive() }),
]);
export type Assertion = z.infer<typeof AssertionSchema>;

/** Request options that a set, a task, a template or a case may set; the most specific wins. */
export const RequestOptionsSchema = z.strictObject({
  model: z.string().min(1).optional(),
  maxTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  responseFormat: ResponseFormatSchema.optional(),
  /** Sent as HTTP headers to a URL target, and as `metadata` to a module target. */
  headers: z.record(z.string(), z.string()).optional(),
});
export type RequestOptions = z.infer<typeof RequestOptionsSchema>;

const variablesSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** One golden case: either literal `messages` or a `template` (from the case or its task) with `vars`. */
export const CaseSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, dot, dash or underscore'),
  description: z.string().optional(),
  messages: z.array(ChatMessageSchema).min(1).optional(),
  template: z.string().min(1).optional(),
  vars: variablesSchema.optional(),
  request: RequestOptionsSchema.optional(),
  assert: z.array(AssertionSchema).min(1),
});
export type GoldenCase = z.infer<typeof CaseSchema>;

/** Gate settings; a task's own override the set's defaults. */
export const GateSettingsSchema = z.strictObject({
  /** Largest tolerated drop in pass rate (0..1). Default 0.1. */
  threshold: z.number().min(0).max(1).optional(),
  /** Significance level of the one-sided Fisher test. Default 0.05. */
  alpha: z.number().gt(0).lt(1).optional(),
});

/** A business task: its cases, whether a regression blocks the deploy, and its gate settings. */
export const TaskSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, dot, dash or underscore'),
  description: z.string().optional(),
  critical: z.boolean(),
  threshold: z.number().min(0).max(1).optional(),
  alpha: z.number().gt(0).lt(1).optional(),
  template: z.string().min(1).optional(),
  request: RequestOptionsSchema.optional(),
  cases: z.array(CaseSchema).min(1),
});
export type GoldenTask = z.infer<typeof TaskSchema>;

/** USD per million tokens for one model. */
export const PriceSchema = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  /** Price of cached input tokens; defaults to `input`. */
  cachedInput: z.number().nonnegative().optional(),
});
export type Price = z.infer<typeof PriceSchema>;

/** The golden set file. */
export const GoldenSetSchema = z
  .strictObject({
    version: z.literal(1),
    name: z.string().min(1).optional(),
    /** The model every case asks for unless its task, template or case names another. */
    model: z.string().min(1),
    request: RequestOptionsSchema.optional(),
    gate: GateSettingsSchema.optional(),
    /** Per-model prices in USD per million tokens, keyed by the requested or the reported model. */
    prices: z.record(z.string(), PriceSchema).optional(),
    tasks: z.array(TaskSchema).min(1),
  })
  .superRefine((set, ctx) => {
    const names = new Set<string>();
    set.tasks.forEach((task, t) => {
      if (names.has(task.name))
        ctx.addIssue({ code: 'custom', path: ['tasks', t, 'name'], message: `duplicate task name ${task.name}` });
      names.add(task.name);
      const ids = new Set<string>();
      task.cases.forEach((c, i) => {
        const path = ['tasks', t, 'cases', i];
        if (ids.has(c.id))
          ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `duplicate case id ${c.id}` });
        ids.add(c.id);
        const template = c.template ?? task.template;
        if (c.messages && c.template)
          ctx.addIssue({ code: 'custom', path: [...path, 'messages'], message: 'give messages or template, not both' });
        if (!c.messages && !template)
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'messages'],
            message: 'give messages, or a template on the case or its task',
          });
      });
    });
  });
export type GoldenSetFile = z.infer<typeof GoldenSetSchema>;

/** The optional YAML front matter of a template file (between `---` lines). */
export const TemplateFrontMatterSchema = z.strictObject({
  /** A system message, with the same `{{variable}}` placeholders as the body. */
  system: z.string().optional(),
  model: z.string().min(1).optional(),
  maxTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  responseFormat: z
    .union([
      ResponseFormatSchema,
      z.strictObject({
        type: z.literal('json_schema'),
        name: z.string().min(1).max(64),
        /** Path of a JSON Schema file, relative to the template file. */
        schemaFile: z.string().min(1),
        strict: z.boolean().optional(),
      }),
    ])
    .optional(),
  headers: z.record(z.string(), z.string()).optional(),
});
export type TemplateFrontMatter = z.infer<typeof TemplateFrontMatterSchema>;
