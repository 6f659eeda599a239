// PII
export { PII_TYPES, PII_LABELS, PiiTypeSchema } from './pii/pii-types';
export type { PiiType, PiiMatch } from './pii/pii-types';
export { detectPii, createPiiDetector, resolveOverlaps, PiiDetectorOptionsSchema } from './pii/detect-pii';
export type { PiiDetector, PiiDetectorOptions } from './pii/detect-pii';
export { redactPii, maskValue } from './pii/redact-pii';
export type { RedactMode, RedactResult } from './pii/redact-pii';
export { PiiVault } from './pii/pii-vault';
export type { StreamRestorer } from './pii/pii-vault';
export { piiGuard, PiiGuardOptionsSchema } from './pii/pii-guard';
export type { PiiGuardOptions } from './pii/pii-guard';
export { luhnValid, ibanValid, ssnValid, ipv4Valid, ipv6Valid, shannonEntropy } from './pii/validators';
// Output policy
export { outputPolicy, OutputPolicyOptionsSchema } from './output/output-policy';
export type { OutputPolicyOptions, OutputClassifier, Verdict } from './output/output-policy';
export { plantCanary, makeCanary, canaryLeaked } from './output/canary';
export type { PlantedCanary } from './output/canary';
export { recordGuardrail, stopwatch } from './output/record-verdict';
export { maxMatchLength } from './output/regex-length';
// Structured output
export {
  structuredOutput,
  StructuredOutputOptionsSchema,
  reaskMessage,
  asStream,
} from './structured/structured-output';
export type { StructuredOutputOptions } from './structured/structured-output';
export { extractJson, parseJsonLoose } from './structured/extract-json';
export type { LooseJson } from './structured/extract-json';
export { compileSchema } from './structured/schema-validator';
export type { ZodLike, JsonSchema, Validation, Validator } from './structured/schema-validator';
// Caps
export { caps, CapsOptionsSchema, toolUsage } from './caps/caps';
export type { CapsOptions } from './caps/caps';
// Input normalization and prompt-injection detection (maintained beside this package's other guards)
export { normalize, rot13, findCandidates, isInvisible, decodeTagRuns } from './normalize/index';
export type { NormalizedText, DecodedVariant, VariantKind, Candidate } from './normalize/index';
export {
  detectInjection,
  defaultInjectionModel,
  injectionGuard,
  InjectionGuardOptionsSchema,
  removeSpans,
  wrapUntrusted,
  UNTRUSTED_TAG,
  UNTRUSTED_NOTICE,
  decodeModel,
  SIGNATURES,
} from './injection/index';
export type {
  InjectionResult,
  InjectionSpan,
  InjectionProfile,
  DetectOptions,
  InjectionGuardOptions,
  InjectionModel,
  SerializedModel,
  InjectionCategory,
  Signature,
  SignatureStrength,
  FeatureSpec,
} from './injection/index';
