export { normalize } from './normalize';
export type { NormalizedText, DecodedVariant } from './normalize';
export { rot13, findCandidates } from './decoders';
export type { VariantKind, Candidate } from './decoders';
export { isInvisible, decodeTagRuns } from './invisible';
