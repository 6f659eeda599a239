import { hasContextBefore } from './context-words';
import type { PiiMatch } from './pii-types';
import { ibanValid, ipv4Valid, ipv6Valid, luhnValid, ssnValid } from './validators';

/** A detector: every candidate of its type in `text`, overlaps allowed. */
export type Detector = (text: string) => PiiMatch[];

const EMAIL =
  /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}_%+-](?:[\p{L}\p{N}._%+-]{0,62}[\p{L}\p{N}_%+-])?@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,24}(?![\p{L}\p{N}-])/gu;

/** Email addresses (Unicode local parts and domains allowed). */
export const detectEmails: Detector = (text) =>
  [...text.matchAll(EMAIL)].map((m) => ({ type: 'email', start: m.index, end: m.index + m[0].length }));

/** Card number ranges (IIN prefixes) and the lengths each network issues. */
function cardNetworkMatches(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || p2 === 62) return n >= 16 && n <= 19; // Discover, UnionPay
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14 && n <= 19; // Diners
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if (p4 === 2131 || p4 === 1800) return n === 15; // JCB (old)
  if (p4 >= 2200 && p4 <= 2204) return n >= 16 && n <= 19; // Mir
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19; // Maestro
  return false;
}

const CARD_CONTEXT =
  /\b(?:card|credit|debit|visa|master ?card|amex|american express|discover|maestro|jcb|diners|cc|pan)\b/i;
/** Labels of other numbers that can pass Luhn and a network range (IMEIs, serials): not a card unless a card word labels it too. */
const NOT_CARD_CONTEXT = /\b(?:serial|s\/n|sn|imei|imsi|iccid|isbn|tracking|order|invoice|ref|reference)\b\.?/i;
const DIGITS = /\d+/g;
const NON_DIGITS = /\D/g;
const DIGIT_RUN = /(?<![\p{L}\p{N}+_.,/-])\d+(?:[ -]\d+)*(?![\p{L}\p{N}_/]|[.,]\d)/gu;

/**
 * Payment card numbers: 12 to 19 digits, optionally grouped by single spaces or dashes, Luhn-valid,
 * and either in a known network range or next to a card word. A run of groups is searched for its
 * longest valid sub-run, so a CVV or a date typed after the number does not hide it.
 */
export const detectCards: Detector = (text) => {
  const out: PiiMatch[] = [];
  for (const m of text.matchAll(DIGIT_RUN)) {
    const groups: { start: number; end: number }[] = [];
    for (const g of m[0].matchAll(DIGITS))
      groups.push({ start: m.index + g.index, end: m.index + g.index + g[0].length });
    let i = 0;
    while (i < groups.length) {
      // The furthest group a card starting at group i can reach (19 digits at most): linear time.
      let last = i;
      let count = groups[i]!.end - groups[i]!.start;
      while (last + 1 < groups.length && count + groups[last + 1]!.end - groups[last + 1]!.start <= 19) {
        last++;
        count += groups[last]!.end - groups[last]!.start;
      }
      let found = -1;
      // The labels before group i are the same for every j: read once, when a Luhn-valid run needs them.
      let labelled: boolean | undefined;
      let otherNumber = false;
      for (let j = last; j >= i; j--) {
        const digits = text.slice(groups[i]!.start, groups[j]!.end).replace(NON_DIGITS, '');
        if (digits.length < 12 || digits.length > 19 || !luhnValid(digits)) continue;
        if (labelled === undefined) {
          labelled = hasContextBefore(text, groups[i]!.start, CARD_CONTEXT);
          otherNumber = hasContextBefore(text, groups[i]!.start, NOT_CARD_CONTEXT, 24);
        }
        if (labelled || (cardNetworkMatches(digits) && !otherNumber)) {
          found = j;
          break;
        }
      }
      if (found >= 0) {
        out.push({ type: 'credit_card', start: groups[i]!.start, end: groups[found]!.end });
        i = found + 1;
      } else i++;
    }
  }
  return out;
};

const isAlnum = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9]/.test(ch);

const IBAN_START = /(?<![\p{L}\p{N}])[A-Za-z]{2}\d{2}(?=[ -]?[A-Za-z0-9])/gu;

/**
 * IBANs, compact or printed in groups of four, any case: the country's registered length and the
 * mod-97 check must hold, and the IBAN must end at a word boundary.
 */
export const detectIbans: Detector = (text) => {
  const out: PiiMatch[] = [];
  for (const m of text.matchAll(IBAN_START)) {
    let i = m.index;
    let compact = '';
    // Take alphanumerics, allowing one space or dash between them, up to 34 characters.
    while (i < text.length && compact.length < 34) {
      const ch = text[i]!;
      if (isAlnum(ch)) {
        compact += ch;
        i++;
        if (compact.length >= 15 && !isAlnum(text[i]) && ibanValid(compact)) {
          out.push({ type: 'iban', start: m.index, end: i });
          break;
        }
      } else if ((ch === ' ' || ch === '-') && isAlnum(text[i + 1])) i++;
      else break;
    }
  }
  return out;
};

const SSN_SEPARATED = /(?<![\p{N}-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\p{N}]|-\d)/gu;
const SSN_BARE = /(?<![\p{N}-])\d{9}(?![\p{N}]|-\d)/gu;
const SSN_CONTEXT = /\b(?:ssn|ssns|social security|soc\.? sec\.?|ss#|ss no)/i;

/**
 * US Social Security numbers: `AAA-GG-SSSS` (or spaced) within the issued ranges; nine bare digits
 * only next to an SSN word.
 */
export const detectSsns: Detector = (text) => {
  const out: PiiMatch[] = [];
  for (const m of text.matchAll(SSN_SEPARATED)) {
    if (ssnValid(m[0])) out.push({ type: 'ssn', start: m.index, end: m.index + m[0].length });
  }
  for (const m of text.matchAll(SSN_BARE)) {
    if (ssnValid(m[0]) && hasContextBefore(text, m.index, SSN_CONTEXT)) {
      out.push({ type: 'ssn', start: m.index, end: m.index + m[0].length });
    }
  }
  return out;
};

const IPV4 = /(?<![\p{N}.]|\d\.)(?:\d{1,3}\.){3}\d{1,3}(?![\p{N}]|\.\d)/gu;
const IPV6 =
  /(?<![\p{L}\p{N}_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![\p{L}\p{N}_:])/gu;

/** A version or build number is written like an IPv4 address: these words just before it say which. */
const VERSION_CONTEXT =
  /\b(?:version|versions|ver|v|build|release|firmware|fw|patch|update|chrome|firefox|safari|edge|node|python|java|windows|ios|android)\.?\s*$/i;
const NETMASK_OCTET = new Set(['0', '128', '192', '224', '240', '248', '252', '254', '255']);

/**
 * Addresses that name no one: loopback, unspecified and netmasks (`255.255.255.0`). The
 * documentation ranges (`192.0.2.0/24`, `2001:db8::/32`) are still found: they stand in for
 * real addresses in examples and tests.
 */
function nonPersonalIp(value: string): boolean {
  const v = value.toLowerCase();
  if (v.includes(':')) return v === '::' || v === '::1';
  const octets = v.split('.');
  if (octets[0] === '127' || v === '0.0.0.0') return true;
  // A netmask: 255s, then at most one other mask octet, then 0s.
  const bits = octets.map((o) => (NETMASK_OCTET.has(o) ? Number(o) : -1));
  if (octets[0] !== '255' || bits.includes(-1)) return false;
  const firstPartial = bits.findIndex((b) => b !== 255);
  return firstPartial < 0 || bits.slice(firstPartial + 1).every((b) => b === 0);
}

/**
 * IPv4 (dotted quad, no leading zeros) and IPv6 (full, compressed, IPv4-embedded) addresses, except
 * those that name no one (loopback, unspecified, netmasks) and a dotted quad
 * right after a version word (`version 1.2.3.4`, `Chrome 120.0.0.1`).
 */
export const detectIps: Detector = (text) => {
  const out: PiiMatch[] = [];
  for (const m of text.matchAll(IPV4)) {
    if (!ipv4Valid(m[0]) || nonPersonalIp(m[0])) continue;
    if (VERSION_CONTEXT.test(text.slice(Math.max(0, m.index - 24), m.index))) continue;
    out.push({ type: 'ip_address', start: m.index, end: m.index + m[0].length });
  }
  for (const m of text.matchAll(IPV6)) {
    const groups = m[0].split(/:+/).filter((g) => g !== '');
    if (groups.length >= 3 && ipv6Valid(m[0]) && !nonPersonalIp(m[0])) {
      out.push({ type: 'ip_address', start: m.index, end: m.index + m[0].length });
    }
  }
  return out;
};
