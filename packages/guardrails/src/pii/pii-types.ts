import { z } from 'zod';

/** The kinds of personal data and secrets the detector finds. */
export const PII_TYPES = ['email', 'phone', 'credit_card', 'iban', 'ssn', 'ip_address', 'secret'] as const;

/** One kind of personal data or secret. */
export type PiiType = (typeof PII_TYPES)[number];

/** Zod schema of a PII type name. */
export const PiiTypeSchema = z.enum(PII_TYPES);

/** One detected value: its type and its offsets in UTF-16 units (`text.slice(start, end)`). */
export interface PiiMatch {
  readonly type: PiiType;
  readonly start: number;
  readonly end: number;
}

/** The typed placeholder label of each type, as in `[EMAIL]` or `[EMAIL_1]`. */
export const PII_LABELS: Readonly<Record<PiiType, string>> = {
  email: 'EMAIL',
  phone: 'PHONE',
  credit_card: 'CREDIT_CARD',
  iban: 'IBAN',
  ssn: 'SSN',
  ip_address: 'IP_ADDRESS',
  secret: 'SECRET',
};

/**
 * Which type wins when two detections overlap: a lower number wins. A known-prefix secret beats
 * everything (it is the most specific pattern); a checksum-validated number beats a phone; an
 * entropy-only secret comes last.
 */
export const PII_PRIORITY: Readonly<Record<PiiType, number>> = {
  secret: 0,
  email: 1,
  iban: 2,
  credit_card: 3,
  ssn: 4,
  ip_address: 5,
  phone: 6,
};
