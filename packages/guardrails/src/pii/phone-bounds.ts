import { Metadata } from 'libphonenumber-js/core';
import { type CountryCode, getCountries, getCountryCallingCode } from 'libphonenumber-js/max';
import maxMetadata from 'libphonenumber-js/max/metadata';

/** What this module reads of a numbering plan; `nationalPrefixTransformRule` is untyped upstream. */
interface Plan {
  possibleLengths(): number[];
  nationalPrefixTransformRule?: () => unknown;
}

/** Non-geographic calling codes (+800 freephone, +882 networks...): plans with no country. */
const NON_GEOGRAPHIC = ['800', '808', '870', '878', '881', '882', '883', '888', '979'];

/** What the metadata says of one calling code. */
interface CallingCode {
  /** The fewest digits of a national significant number any plan of the calling code accepts. */
  minLength: number;
  /** Digits inserted by the transform rule of the plan selected by the calling code alone (its main country's). */
  inserted: number;
}

type Selectable = { selectNumberingPlan(id: string): void; numberingPlan?: Plan };

let codes: Map<string, CallingCode> | undefined;

/** Digits a transform rule writes itself (`268$1` inserts 3, `9$1` one, `$2` none); undefined when unknown. */
function inserted(plan: Plan | undefined): number | undefined {
  if (typeof plan?.nationalPrefixTransformRule !== 'function') return undefined;
  const rule = plan.nationalPrefixTransformRule();
  // The minified metadata writes an absent rule as 0.
  if (!rule) return 0;
  if (typeof rule !== 'string') return undefined;
  return rule.replace(/\$\d/g, '').replace(/\D/g, '').length;
}

function lengthsOf(metadata: Selectable, id: string): number[] | undefined {
  metadata.selectNumberingPlan(id);
  const lengths = metadata.numberingPlan?.possibleLengths();
  return Array.isArray(lengths) && lengths.length > 0 ? lengths : undefined;
}

/** Every calling code of the full metadata; undefined when it cannot be read as expected. */
function readCallingCodes(): Map<string, CallingCode> | undefined {
  const out = new Map<string, CallingCode>();
  const metadata = new Metadata(maxMetadata) as unknown as Selectable;
  const plans: [string, string][] = getCountries().map((c) => [c, getCountryCallingCode(c)]);
  for (const code of NON_GEOGRAPHIC) plans.push([code, code]);
  for (const [id, code] of plans) {
    let lengths: number[] | undefined;
    let own: number | undefined;
    try {
      lengths = lengthsOf(metadata, id);
      if (!out.has(code)) {
        metadata.selectNumberingPlan(code);
        own = inserted(metadata.numberingPlan);
      }
    } catch {
      // A non-geographic code this metadata does not know: no number can have it.
      if (id === code) continue;
      return undefined;
    }
    if (lengths === undefined) return undefined;
    const entry = out.get(code);
    if (entry) entry.minLength = Math.min(entry.minLength, ...lengths);
    else if (own === undefined) return undefined;
    else out.set(code, { minLength: Math.min(...lengths), inserted: own });
  }
  return out;
}

const bounds = new Map<CountryCode, number>();

/**
 * The fewest digits a phone number that `findNumbers(text, { defaultCountry })` reports can hold,
 * read off the metadata, so a digit run with fewer is not worth handing to it. A reported number
 * is possible and valid: its national significant number has one of its plan's possible lengths.
 * Written internationally (`+CC`, an IDD prefix, or the country code without `+`) it holds the
 * calling code's digits too; written nationally, the plan is one of the default country's calling
 * code. The only digits of the number that the text need not hold are those a national-prefix
 * transform rule inserts (`268$1` for Antigua), subtracted here. 1 (no bound) when the metadata
 * cannot be read as expected. For the US: 6 (+49 and four digits).
 * @example minPhoneDigits('US') // 6
 */
export function minPhoneDigits(defaultCountry: CountryCode): number {
  const known = bounds.get(defaultCountry);
  if (known !== undefined) return known;
  codes ??= readCallingCodes() ?? new Map();
  let bound = 1;
  const own = codes.get(getCountryCallingCode(defaultCountry));
  const metadata = new Metadata(maxMetadata) as unknown as Selectable;
  metadata.selectNumberingPlan(defaultCountry);
  const ownInserted = inserted(metadata.numberingPlan);
  if (own && ownInserted !== undefined) {
    // Written nationally: parsed with the default country's plan, possible in a plan of its code.
    let least = own.minLength - ownInserted;
    // Written internationally: parsed with the plan the calling code selects.
    for (const [code, c] of codes) least = Math.min(least, code.length + c.minLength - c.inserted);
    bound = Math.max(1, least);
  }
  bounds.set(defaultCountry, bound);
  return bound;
}
