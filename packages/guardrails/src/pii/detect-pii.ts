import type { CountryCode } from 'libphonenumber-js/max';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { detectCards, detectEmails, detectIbans, detectIps, detectSsns } from './detectors';
import { detectPhones } from './phone';
import { PII_PRIORITY, PII_TYPES, type PiiMatch, type PiiType, PiiTypeSchema } from './pii-types';
import {
  mayHaveCard,
  mayHaveEmail,
  mayHaveIban,
  mayHaveIp,
  mayHavePhone,
  mayHaveSsn,
  mayHaveUnknownSecret,
  textShape,
} from './pre-checks';
import { detectKnownSecrets, detectUnknownSecrets } from './secrets';

/** Options of the PII detector. */
export const PiiDetectorOptionsSchema = z.strictObject({
  /** Which types to look for; all by default. */
  types: z.array(PiiTypeSchema).min(1).optional(),
  /** Country assumed for phone numbers written without `+CC` (ISO 3166 alpha-2). */
  defaultCountry: z
    .string()
    .refine((c) => isSupportedCountry(c), { message: 'not a country libphonenumber-js knows' })
    .default('US'),
  /** Minimum Shannon entropy (bits/char) of an unknown token to be called a secret. */
  secretMinEntropy: z.number().positive().max(8).default(3.5),
  /** Minimum length of an unknown token to be called a secret. */
  secretMinLength: z.number().int().min(8).default(20),
});
/** Options of `detectPii` and `createPiiDetector`, as written by callers. */
export type PiiDetectorOptions = z.input<typeof PiiDetectorOptionsSchema>;

/** A configured detector: every PII value in `text`, without overlaps, in order of `start`. */
export type PiiDetector = (text: string) => PiiMatch[];

/**
 * Builds a detector once (options parsed here) for reuse on every message.
 * @throws ZodError naming the bad option.
 * @example
 * const detect = createPiiDetector({ types: ['email', 'phone'], defaultCountry: 'GB' });
 * detect('mail jo@example.com or 020 7946 0018'); // [{ type: 'email', ... }, { type: 'phone', ... }]
 */
export function createPiiDetector(options: PiiDetectorOptions = {}): PiiDetector {
  const o = PiiDetectorOptionsSchema.parse(options);
  const types = new Set<PiiType>(o.types ?? PII_TYPES);
  const country = o.defaultCountry as CountryCode;
  const secretOptions = { minEntropy: o.secretMinEntropy, minLength: o.secretMinLength };
  return (text) => {
    if (text.length === 0) return [];
    // Every detector runs (even for types not asked for), so a value of an unrequested type still
    // shields its digits from a lower-priority type: a card number is never half-redacted as a phone.
    // A detector is skipped only when its pre-check proves it would find nothing (pre-checks.ts).
    const shape = textShape(text);
    const candidates: PiiMatch[] = [];
    detectKnownSecrets(text, candidates);
    if (mayHaveUnknownSecret(shape)) detectUnknownSecrets(text, secretOptions, candidates);
    if (mayHaveEmail(shape)) append(candidates, detectEmails(text));
    if (mayHaveIban(shape)) append(candidates, detectIbans(text));
    if (mayHaveCard(shape)) append(candidates, detectCards(text));
    if (mayHaveSsn(shape)) append(candidates, detectSsns(text));
    if (mayHaveIp(shape)) append(candidates, detectIps(text));
    // Phones rank last, so the other candidates that overlap resolution keeps do not depend on
    // them: a phone overlapping one of those is dropped, and is not searched for (see detectPhones).
    if (mayHavePhone(shape))
      append(
        candidates,
        detectPhones(text, country, undefined, candidates.length > 0 ? resolveOverlaps(candidates) : []),
      );
    if (candidates.length === 0) return candidates;
    return resolveOverlaps(candidates).filter((m) => types.has(m.type));
  };
}

function append(to: PiiMatch[], from: readonly PiiMatch[]): void {
  for (const m of from) to.push(m);
}

/**
 * Finds personal data and secrets in `text`: email, phone, credit_card, iban, ssn, ip_address,
 * secret. Overlaps are resolved by type priority (secret > email > iban > credit_card > ssn >
 * ip_address > phone), then by length. For repeated calls build a detector once with
 * `createPiiDetector`.
 * @example detectPii('card 4111 1111 1111 1111') // [{ type: 'credit_card', start: 5, end: 24 }]
 */
export function detectPii(text: string, options?: PiiDetectorOptions): PiiMatch[] {
  return createPiiDetector(options)(text);
}

/** Keeps the highest-priority (then longest) candidate of every overlapping group. */
export function resolveOverlaps(candidates: readonly PiiMatch[]): PiiMatch[] {
  const ranked = [...candidates].sort(
    (a, b) => PII_PRIORITY[a.type] - PII_PRIORITY[b.type] || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  const kept: PiiMatch[] = [];
  for (const c of ranked) {
    if (c.end <= c.start) continue;
    if (kept.every((k) => c.end <= k.start || c.start >= k.end)) kept.push(c);
  }
  return kept.sort((a, b) => a.start - b.start);
}
