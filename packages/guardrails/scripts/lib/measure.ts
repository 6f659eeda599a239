import vard from '@andersmyrmel/vard';
import { defaultInjectionModel } from '../../src/injection/detect';
import { type Example, loadAuthored, loadDeepset, loadNotInject } from './data';
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
