import vard from '@andersmyrmel/vard';
import { defaultInjectionModel, detectInjection } from '../../src/injection/detect';
import { type Example, loadAuthored, loadDeepset, loadHeldOut, loadNotInject } from './data';
import { type Confusion, crossValidate, flags, prepare, rates, tally } from './pipeline';

/** vard's verdict with its default (moderate) configuration: flagged when it does not return `safe`. */
export function vardFlags(text: string): boolean {
  try {
    return !vard.safe(text).safe;
  } catch {
    return true;
  }
}

export interface Figures {
  readonly precision: number;
  readonly recall: number;
  readonly fpr: number;
  readonly notInjectFpr: number;
  readonly deepset: Confusion;
  readonly notInjectFlagged: number;
}

export interface Measurement {
  readonly rel: Figures;
  /** The shipped model's FPR on NotInject (the `rel.notInjectFpr` is the mean over CV fold models). */
  readonly relShippedNotInjectFpr: number;
  /** The shipped model's FPR on NotInject in the strict profile (the one untrusted content gets). */
  readonly relShippedNotInjectStrictFpr: number;
  readonly vard: Figures;
  readonly rows: { deepset: number; notInject: number; authored: number };
  readonly thresholds: readonly number[];
}

/**
 * rel by stratified 5-fold cross-validation on deepset (each fold scored by a model trained
 * without it); NotInject scored by every fold model (mean) and by the shipped model; vard on the
 * same rows. Nothing here trains on NotInject.
 */
export function measure(): Measurement {
  const deepsetRows: Example[] = loadDeepset();
  const notInjectRows = loadNotInject();
  const authoredRows = loadAuthored();
  const deepset = prepare(deepsetRows);
  const notInject = prepare(notInjectRows);
  const cv = crossValidate(deepset, prepare(authoredRows), notInject);
  const relNi = cv.heldOutFpr.reduce((a, b) => a + b, 0) / cv.heldOutFpr.length;
  const shipped = defaultInjectionModel();
  const vardDeepset = tally(
    deepsetRows.map((e) => ({ y: e.label === 'injection' ? 1 : 0, flagged: vardFlags(e.text) })),
  );
  const vardNi = notInjectRows.filter((e) => vardFlags(e.text)).length;
  return {
    rel: {
      ...rates(cv.confusion),
      notInjectFpr: relNi,
      deepset: cv.confusion,
      notInjectFlagged: Math.round(relNi * notInjectRows.length),
    },
    relShippedNotInjectFpr: notInject.filter((p) => flags(shipped, p)).length / notInjectRows.length,
    relShippedNotInjectStrictFpr: notInject.filter((p) => flags(shipped, p, 'strict')).length / notInjectRows.length,
    vard: {
      ...rates(vardDeepset),
      notInjectFpr: vardNi / notInjectRows.length,
      deepset: vardDeepset,
      notInjectFlagged: vardNi,
    },
    rows: { deepset: deepsetRows.length, notInject: notInjectRows.length, authored: authoredRows.length },
    thresholds: cv.thresholds,
  };
}

/** Detection on one held-out set: flagged counts by detector, for injections and for benign texts. */
export interface HeldOutFigures {
  readonly set: 'a' | 'b';
  readonly injections: number;
  readonly benign: number;
  /** Injections flagged, and benign texts flagged, per detector. */
  readonly flagged: Readonly<Record<'relDefault' | 'relStrict' | 'vard', { injections: number; benign: number }>>;
  /** Injections flagged per group (`kind`), per detector, as `flagged/total`. */
  readonly byKind: Readonly<Record<string, Readonly<Record<'relDefault' | 'relStrict' | 'vard', string>>>>;
}

/**
 * The shipped model (default and strict profiles) and vard on rel's hand-written held-out set.
 * Nothing is trained or tuned here.
 */
export function measureHeldOut(set: 'a' | 'b'): HeldOutFigures {
  const rows = loadHeldOut(set);
  const detectors = {
    relDefault: (t: string) => detectInjection(t).flagged,
    relStrict: (t: string) => detectInjection(t, { profile: 'strict' }).flagged,
    vard: vardFlags,
  } as const;
  const names = Object.keys(detectors) as (keyof typeof detectors)[];
  const verdicts = rows.map((r) => ({ r, hit: Object.fromEntries(names.map((n) => [n, detectors[n](r.text)])) }));
  const count = (n: keyof typeof detectors, label: Example['label']) =>
    verdicts.filter((v) => v.r.label === label && v.hit[n]).length;
  const kinds = [...new Set(rows.filter((r) => r.label === 'injection').map((r) => r.kind ?? 'other'))];
  return {
    set,
    injections: rows.filter((r) => r.label === 'injection').length,
    benign: rows.filter((r) => r.label === 'benign').length,
    flagged: Object.fromEntries(
      names.map((n) => [n, { injections: count(n, 'injection'), benign: count(n, 'benign') }]),
    ) as HeldOutFigures['flagged'],
    byKind: Object.fromEntries(
      kinds.map((k) => {
        const of = verdicts.filter((v) => v.r.label === 'injection' && (v.r.kind ?? 'other') === k);
        return [k, Object.fromEntries(names.map((n) => [n, `${of.filter((v) => v.hit[n]).length}/${of.length}`]))];
      }),
    ) as HeldOutFigures['byKind'],
  };
}
