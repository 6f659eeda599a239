/**
 * Checksum and range rules that turn a digit pattern into a likely identifier. Pure functions,
 * shared by the detectors and tested on their own.
 */

/**
 * True when the digits of `value` (separators ignored) pass the Luhn checksum used by payment cards.
 * @example luhnValid('4111 1111 1111 1111') // true
 */
export function luhnValid(value: string): boolean {
  let sum = 0;
  let double = false;
  let count = 0;
  for (let i = value.length - 1; i >= 0; i--) {
    const code = value.charCodeAt(i) - 48;
    if (code < 0 || code > 9) continue;
    count++;
    let d = code;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return count > 1 && sum % 10 === 0;
}

/** IBAN length per country (ISO 13616 registry). */
const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(
  [
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28',
    'EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27',
    'JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18',
    'NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28',
    'TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30',
  ]
    .join(' ')
    .split(' ')
    .map((e) => [e.slice(0, 2), Number(e.slice(2))] as const),
);

/**
 * True when `value` (spaces ignored, any case) is an IBAN: a known country, that country's length,
 * and the ISO 7064 mod-97 check equal to 1.
 * @example ibanValid('GB82 WEST 1234 5698 7654 32') // true
 */
export function ibanValid(value: string): boolean {
  const iban = value.replace(/[\s-]/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const expected = IBAN_LENGTHS.get(iban.slice(0, 2));
  if (expected === undefined || iban.length !== expected) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const digits = code >= 65 ? String(code - 55) : ch;
    for (const d of digits) remainder = (remainder * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** SSNs the SSA says were never issued or were published in advertising. */
const SSN_BLOCKLIST = new Set(['078051120', '219099999', '123456789']);

/**
 * True when the nine digits of `value` can be a US Social Security number: area not 000, 666 or
 * 900-999; group not 00; serial not 0000; not a well-known advertising number.
 * @example ssnValid('460-89-9847') // true
 * @example ssnValid('666-12-3456') // false
 */
export function ssnValid(value: string): boolean {
  const digits = value.replace(/\D/g, '');
  if (digits.length !== 9) return false;
  const area = Number(digits.slice(0, 3));
  const group = Number(digits.slice(3, 5));
  const serial = Number(digits.slice(5));
  if (area === 0 || area === 666 || area >= 900) return false;
  if (group === 0 || serial === 0) return false;
  if (SSN_BLOCKLIST.has(digits)) return false;
  if (/^(\d)\1{8}$/.test(digits)) return false;
  return true;
}

/**
 * True for a dotted-quad IPv4 address without leading zeros.
 * @example ipv4Valid('192.168.0.1') // true
 */
export function ipv4Valid(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * True for an IPv6 address in full, compressed (`::`) or IPv4-embedded form (zone ids excluded).
 * @example ipv6Valid('2001:db8::1') // true
 */
export function ipv6Valid(value: string): boolean {
  let text = value;
  let groupsNeeded = 8;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!ipv4Valid(tail)) return false;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const groups = [...head, ...rest];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  if (halves.length === 2) {
    groupsNeeded = 7;
    return groups.length <= groupsNeeded;
  }
  return groups.length === groupsNeeded;
}

/**
 * Shannon entropy of `value` in bits per character.
 * @example shannonEntropy('aaaa') // 0
 */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}
