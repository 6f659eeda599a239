import { Metadata } from 'libphonenumber-js/core';
import { type CountryCode, findNumbers } from 'libphonenumber-js/max';
import maxMetadata from 'libphonenumber-js/max/metadata';
import { hasContextBefore, hasLabelAfter } from './context-words';
import { minPhoneDigits } from './phone-bounds';
import type { PiiMatch } from './pii-types';

const PHONE_WORDS =
  /\b(?:phones?|tel|telephone|mobile|mob|cell|cellphone|fax|call|calling|text|sms|whats ?app|reach|dial|ring|hotline|landline|messages?)\b|\b(?:office|desk|home|work|direct|contact)\s*:/i;
const NOT_PHONE_WORDS =
  /\b(?:licen[cs]e|passport|account|acct|order|invoice|ssn|serial|tracking|routing|iban|card|isbn|id|ref|reference)\b/i;
const LABEL_AFTER = /^(?:office|fax|mobile|cell|home|work|phone|tel|desk|direct)$/i;
const CANDIDATE =
  /(?<![\p{L}\p{N}_./+-])(?<!\d,)(?:\+ ?|00)?(?:\(\d{1,5}\)|\d{1,5})(?:[ .\u00a0-]?(?:\(\d{1,5}\)|\d{1,5})){0,7}(?: ?(?:x|ext\.?|#) ?\d{1,6})?(?![\p{L}\p{N}_]|[.,]\d)/gu;
const DIGIT_REGION = /[+(]?\d[\d \u00a0()./-]*(?: ?(?:x|ext\.?|#) ?\d{1,6})?/g;
const DATE_INSIDE =
  /(?:^|\D)(?:1[89]|20)\d{2}[-./]\d{1,2}[-./]\d{1,2}(?:\D|$)|(?:^|\D)\d{1,2}[-./]\d{1,2}[-./](?:1[89]|20)\d{2}(?:\D|$)/;
const THOUSANDS = /^\d{1,3}(?:\.\d{3}){2,}$|^\d(?:[ \u00a0]\d{3})+$/;

/**
 * Phone numbers. Two sources, merged by the caller's overlap resolution:
 * 1. libphonenumber-js (full metadata) finds numbers valid for `defaultCountry` or written in
 *    international form (`+CC ...`).
 * 2. A phone-shaped run of 7 to 15 digits (groups split by spaces, dots, dashes, a bracketed area
 *    code, an optional extension) that libphonenumber cannot place without a country: it counts
 *    when a phone word (`phone`, `mobile`, `call me on`...) labels it, or when its grouping is
 *    unmistakably a phone's (`+` or `00` prefix, a bracketed area code, or three or more groups of
 *    two to four digits). Dates, dotted thousands and single repeated digits never count.
 * A number that a non-phone word (`license`, `order`, `account`...) labels is not a phone unless a
 * phone word labels it too.
 * @param minDigits Digit regions with fewer digits are not handed to libphonenumber (it would find
 * nothing in them); `minPhoneDigits(defaultCountry)` by default, 0 to hand it every region.
 * @param shield Values of higher-priority types that overlap resolution keeps (sorted by start,
 * disjoint): a phone overlapping one would be dropped, so none is searched for there. Empty by default.
 */
export function detectPhones(
  text: string,
  defaultCountry: CountryCode,
  minDigits: number = minPhoneDigits(defaultCountry),
  shield: readonly PiiMatch[] = [],
): PiiMatch[] {
  const out: PiiMatch[] = [];
  keepShapes();
  // libphonenumber's matcher is slow on long prose, so it only reads the digit regions (plus a
  // little text each side, which its boundary and date/time checks look at).
  for (const region of text.matchAll(DIGIT_REGION)) {
    if (region[0].length > 64) continue;
    const digits = region[0].replace(/\D/g, '').length;
    if (digits < 5) continue;
    // A number kept below lies within one unit of the region, so its digits are the region's and
    // at most the unit each side (counted when it may be a digit libphonenumber reads: any
    // non-ASCII character or an ASCII digit). Fewer than `minDigits` cannot make a valid number.
    const end = region.index + region[0].length;
    if (digits + (mayBeDigit(text, region.index - 1) ? 1 : 0) + (mayBeDigit(text, end) ? 1 : 0) < minDigits) continue;
    // A number kept below holds two digits or more, so one of the region's (it is contiguous and
    // within one unit of the region): when all of them lie in shielding values, it overlaps one.
    if (shield.length > 0 && minDigits >= 2 && digitsShielded(text, region.index, end, shield)) continue;
    const offset = Math.max(0, region.index - 16);
    const window = text.slice(offset, region.index + region[0].length + 16);
    for (const found of findNumbers(window, { defaultCountry, v2: true })) {
      const start = offset + found.startsAt;
      const end = offset + found.endsAt;
      if (start < region.index - 1 || end > region.index + region[0].length + 1) continue; // seen from another region
      if (DATE_INSIDE.test(text.slice(start, end))) continue;
      if (!hasContextBefore(text, start, NOT_PHONE_WORDS, 32) || labelled(text, start, end)) {
        out.push({ type: 'phone', start, end });
      }
    }
  }
  for (const m of text.matchAll(CANDIDATE)) {
    const value = m[0];
    const main = value.replace(/ ?(?:x|ext\.?|#) ?\d{1,6}$/, '');
    const digits = main.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) continue;
    if (DATE_INSIDE.test(main) || THOUSANDS.test(main) || /^(\d)\1+$/.test(digits)) continue;
    const start = m.index;
    const end = m.index + value.length;
    if (overlapsAny(start, end, shield)) continue;
    if (labelled(text, start, end)) out.push({ type: 'phone', start, end });
    else if (phoneShaped(main) && !hasContextBefore(text, start, NOT_PHONE_WORDS, 32))
      out.push({ type: 'phone', start, end });
  }
  return out;
}

/** What `keepShapes` holds on to (see there). */
let shapes: unknown[] | undefined;

/**
 * Keeps one of each metadata object libphonenumber builds per parse (its `Metadata`, a
 * `NumberingPlan`, the plan's number `Type`s) alive for the life of the process. V8 frees the
 * hidden class of objects no live object uses at every full GC, and drops the optimized code
 * specialized to it; libphonenumber builds these objects anew for each parse and lets them go, so
 * after each full GC its parsing ran two to four times slower until re-optimized. The objects are
 * built from the same metadata by the same code, so they share those hidden classes. Nothing is
 * read from them: results are unchanged whether they exist or not.
 */
function keepShapes(): void {
  if (shapes) return;
  shapes = [];
  try {
    const metadata = new Metadata(maxMetadata) as Metadata & {
      numberingPlan?: { type?: (name: string) => unknown };
    };
    metadata.selectNumberingPlan('US');
    const plan = metadata.numberingPlan;
    shapes.push(metadata, plan);
    for (const t of [
      'FIXED_LINE',
      'MOBILE',
      'TOLL_FREE',
      'PREMIUM_RATE',
      'PERSONAL_NUMBER',
      'VOIP',
      'UAN',
      'PAGER',
      'VOICEMAIL',
    ]) {
      shapes.push(plan?.type?.(t));
    }
  } catch {
    // Another libphonenumber-js layout: nothing to keep, only speed is at stake.
  }
}

/** Whether every ASCII digit of `text[from, to)` lies in one of `shield` (sorted by start, disjoint). */
function digitsShielded(text: string, from: number, to: number, shield: readonly PiiMatch[]): boolean {
  let k = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) continue;
    while (k < shield.length && shield[k]!.end <= i) k++;
    if (k === shield.length || shield[k]!.start > i) return false;
  }
  return true;
}

function overlapsAny(start: number, end: number, shield: readonly PiiMatch[]): boolean {
  for (const s of shield) if (s.start < end && start < s.end) return true;
  return false;
}

function mayBeDigit(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.charCodeAt(i);
  return c >= 0x80 || (c >= 0x30 && c <= 0x39);
}

function labelled(text: string, start: number, end: number): boolean {
  return hasContextBefore(text, start, PHONE_WORDS) || hasLabelAfter(text, end, LABEL_AFTER);
}

/** A grouping only phones use: an international prefix, a bracketed area code, or 3+ short groups. */
function phoneShaped(value: string): boolean {
  const digits = value.replace(/\D/g, '').length;
  if (digits < 8) return false;
  if (/^(?:\+|00)/.test(value) || /^\(\d{1,5}\)/.test(value)) return true;
  const groups = value.split(/[ .\u00a0-]/);
  return groups.length >= 3 && groups.every((g) => /^\(?\d{2,4}\)?$/.test(g));
}
