export { runCli, EXIT_CODES } from './cli-main';
export type { CliIo } from './cli-main';
export { loadGoldenSet, DEFAULT_THRESHOLD, DEFAULT_ALPHA } from './load-golden-set';
export type { LoadedGoldenSet, LoadedTask, LoadedCase } from './load-golden-set';
export {
  GoldenSetSchema,
  TaskSchema,
  CaseSchema,
  AssertionSchema,
  RequestOptionsSchema,
  GateSettingsSchema,
  PriceSchema,
  TemplateFrontMatterSchema,
} from './golden-set-schema';
export type {
  GoldenSetFile,
  GoldenTask,
  GoldenCase,
  Assertion,
  RequestOptions,
  Price,
  TemplateFrontMatter,
} from './golden-set-schema';
export { splitTemplate, renderTemplate, placeholders } from './template';
export type { TemplateSource, RenderOutcome } from './template';
export {
  equalsAssertion,
  containsAssertion,
  regexAssertion,
  jsonSchemaAssertion,
  customAssertion,
  maxLatencyAssertion,
  maxCostAssertion,
} from './assertions';
export type {
  CaseOutput,
  CustomAssertionContext,
  CustomAssertFunction,
  AssertionResult,
  CompiledAssertion,
} from './assertions';
export { costOf } from './cost';
export { runGoldenSet, RunOptionsSchema } from './run-golden-set';
export type { RunOptions } from './run-golden-set';
export { stats } from './run-results';
export type { RunResults, TaskResult, CaseResult, RunRecord, Stats, Fingerprint } from './run-results';
export { fingerprint, compareFingerprints } from './fingerprint';
export type { FingerprintChange } from './fingerprint';
export { fisherDropPValue, logFactorial } from './fisher';
export type { PassCounts } from './fisher';
export { compareWithBaseline, gateSummary } from './gate';
export type { GateVerdict, TaskVerdict, TaskVerdictKind, CaseDrop } from './gate';
export { BaselineSchema, baselineFrom, readBaseline, writeBaseline } from './baseline';
export type { Baseline } from './baseline';
export { resolveTarget, httpTarget, chatCompletionsUrl } from './target';
export type { ResolvedTarget } from './target';
export { markdownReport } from './report-markdown';
export { htmlReport } from './report-html';
export { escapeHtml } from './report-format';
export { progressReporter } from './progress';
export type { ProgressStream } from './progress';
export { configError } from './config-error';
