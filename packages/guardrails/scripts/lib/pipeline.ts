import { seededRandom } from '@rel/core';
import { type InjectionModel, type SerializedModel, decodeModel } from '../../src/injection/classifier';
import { type InjectionSignals, collectSignals, combineEvidence, profileThreshold } from '../../src/injection/detect';
import { type FeatureSpec, type SparseVector, featurize } from '../../src/injection/features';
import { normalize } from '../../src/normalize/normalize';
import type { Example } from './data';
import { type TrainOptions, trainLogReg } from './logreg';

/** The settings of the shipped model. Chosen a priori, not searched on the measured files. */
export const SPEC: FeatureSpec = { bits: 16, minGram: 2, maxGram: 5 };
export const TRAIN: Omit<TrainOptions, 'dims'> = { l2: 1e-3, learningRate: 0.05, iterations: 100, balance: true };
/** The false-positive rate the threshold is chosen to keep on out-of-fold benign training texts. */
export const TARGET_FPR = 0.01;
/**
 * The false-positive rate the strict profile's threshold is chosen to keep on out-of-fold benign
 * training texts (medium signatures flag alone in that profile, and count against it).
 */
export const STRICT_TARGET_FPR = 0.05;
/** The classifier never flags alone below even odds. */
export const MIN_THRESHOLD = 0.5;
export const FOLDS = 5;
/** Folds of the inner cross-validation that picks the threshold on the training side. */
export const INNER_FOLDS = 3;
export const SEED = 20_240_601;

/** An example with everything that does not depend on the model computed once. */
export interface Prepared {
  readonly example: Example;
  readonly y: number;
  /** Features of the whole skeleton, for training. */
  readonly x: SparseVector;
  readonly signals: InjectionSignals;
  /** Features of each classifier view (windows and decoded payloads), for scoring. */
  readonly views: readonly SparseVector[];
}

export function prepare(examples: readonly Example[]): Prepared[] {
  return examples.map((example) => {
    const n = normalize(example.text);
    const signals = collectSignals(n);
    return {
      example,
      y: example.label === 'injection' ? 1 : 0,
      x: featurize(n.skeleton, SPEC),
      signals,
      views: signals.views.map((v) => featurize(v, SPEC)),
    };
  });
}

function dot(model: InjectionModel, x: SparseVector): number {
  let z = model.bias;
  for (let i = 0; i < x.indices.length; i++) z += model.weights[x.indices[i]!]! * x.values[i]!;
  return z;
}

/** The classifier's best log-odds over the views of an example. */
export function bestLogit(model: InjectionModel, p: Prepared): number {
  return p.views.length === 0 ? model.bias : Math.max(...p.views.map((x) => dot(model, x)));
}

/** Quantizes trained weights to int8 and serializes them. */
export function serialize(
  weights: Float64Array,
  bias: number,
  threshold: number,
  training?: Record<string, unknown>,
  strictThreshold?: number,
): SerializedModel {
  let max = 0;
  for (const w of weights) max = Math.max(max, Math.abs(w));
  const scale = max > 0 ? max / 127 : 1;
  const q = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(weights[i]! / scale)));
  return {
    format: 'rel-injection-logreg',
    version: 1,
    spec: SPEC,
    bias: Number(bias.toFixed(6)),
    scale: Number(scale.toPrecision(8)),
    threshold: Number(threshold.toFixed(4)),
    ...(strictThreshold === undefined ? {} : { strictThreshold: Number(strictThreshold.toFixed(4)) }),
    weights: Buffer.from(q.buffer).toString('base64'),
    ...(training ? { training } : {}),
  };
}

/** Stratified, seeded fold numbers (0..k-1) for each example. */
export function stratifiedFolds(ys: readonly number[], k: number, seed: number): number[] {
  const random = seededRandom(seed);
  const folds = new Array<number>(ys.length).fill(0);
  for (const label of [0, 1]) {
    const idx = ys.flatMap((y, i) => (y === label ? [i] : []));
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    idx.forEach((i, pos) => {
      folds[i] = pos % k;
    });
  }
  return folds;
}

function fit(train: readonly Prepared[], threshold: number): InjectionModel {
  const t = trainLogReg(
    train.map((p) => p.x),
    train.map((p) => p.y),
    { ...TRAIN, dims: 1 << SPEC.bits },
  );
  return decodeModel(serialize(t.weights, t.bias, threshold));
}

/**
 * Chooses the classifier thresholds from out-of-fold scores on the training data only: for each
 * profile, the lowest probability (not below `MIN_THRESHOLD`) at which the combined detector keeps
 * the benign false-positive rate at or under its target (`TARGET_FPR` for `default`,
 * `STRICT_TARGET_FPR` for `strict`, where a medium signature flags on its own).
 */
export function chooseThresholds(
  train: readonly Prepared[],
  seed: number,
): { threshold: number; strictThreshold: number } {
  const folds = stratifiedFolds(
    train.map((p) => p.y),
    INNER_FOLDS,
    seed,
  );
  const needed: number[] = [];
  const neededNoMedium: number[] = [];
  let benign = 0;
  let strong = 0;
  let medium = 0;
  for (let f = 0; f < INNER_FOLDS; f++) {
    const model = fit(
      train.filter((_, i) => folds[i] !== f),
      0.5,
    );
    train.forEach((p, i) => {
      if (folds[i] !== f || p.y !== 0) return;
      benign++;
      // A strong signature flags at any threshold; otherwise the example is flagged at threshold t
      // iff its evidence at threshold 0.5 is at least logit(t).
      if (p.signals.hits.some((h) => h.strength === 'strong')) {
        strong++;
        return;
      }
      const evidence = combineEvidence(p.signals, bestLogit(model, p), 0.5, 'default').evidence;
      needed.push(evidence);
      if (p.signals.hits.some((h) => h.strength === 'medium')) medium++;
      else neededNoMedium.push(evidence);
    });
  }
  const pick = (evidence: number[], allowed: number) => {
    const cut = [...evidence].sort((a, b) => b - a)[Math.max(0, allowed)] ?? Number.NEGATIVE_INFINITY;
    return Math.max(MIN_THRESHOLD, 1 / (1 + Math.exp(-(cut + 1e-6))));
  };
  return {
    threshold: pick(needed, Math.floor(TARGET_FPR * benign) - strong),
    strictThreshold: pick(neededNoMedium, Math.floor(STRICT_TARGET_FPR * benign) - strong - medium),
  };
}

/** The default profile's threshold (see `chooseThresholds`). */
export function chooseThreshold(train: readonly Prepared[], seed: number): number {
  return chooseThresholds(train, seed).threshold;
}

/** Trains the model to ship: weights on all of `train`, thresholds from its out-of-fold scores. */
export function trainModel(
  train: readonly Prepared[],
  seed = SEED,
): { model: InjectionModel; serialized: SerializedModel } {
  const { threshold, strictThreshold } = chooseThresholds(train, seed);
  const t = trainLogReg(
    train.map((p) => p.x),
    train.map((p) => p.y),
    { ...TRAIN, dims: 1 << SPEC.bits },
  );
  const serialized = serialize(t.weights, t.bias, threshold, undefined, strictThreshold);
  return { model: decodeModel(serialized), serialized };
}

/** Counts of a binary evaluation. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function rates(c: Confusion): { precision: number; recall: number; fpr: number } {
  return {
    precision: c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp),
    recall: c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn),
    fpr: c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn),
  };
}

export function tally(items: readonly { y: number; flagged: boolean }[]): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const { y, flagged } of items) {
    if (y === 1) flagged ? c.tp++ : c.fn++;
    else flagged ? c.fp++ : c.tn++;
  }
  return c;
}

/** Whether the full detector flags an example under a model. */
export function flags(model: InjectionModel, p: Prepared, profile: 'default' | 'strict' = 'default'): boolean {
  return combineEvidence(p.signals, bestLogit(model, p), profileThreshold(model, profile), profile).flagged;
}

/**
 * Stratified k-fold cross-validation on `data`: each fold is scored by a model (weights and
 * threshold) made without it; `extra` (hand-written examples) joins every training side only.
 * Also scores `heldOut` (never trained on) with each fold's model and reports the mean FPR.
 */
export function crossValidate(
  data: readonly Prepared[],
  extra: readonly Prepared[],
  heldOut: readonly Prepared[] = [],
  seed = SEED,
): { confusion: Confusion; oof: boolean[]; heldOutFpr: number[]; thresholds: number[] } {
  const folds = stratifiedFolds(
    data.map((p) => p.y),
    FOLDS,
    seed,
  );
  const oof = new Array<boolean>(data.length).fill(false);
  const heldOutFpr: number[] = [];
  const thresholds: number[] = [];
  for (let f = 0; f < FOLDS; f++) {
    const train = [...data.filter((_, i) => folds[i] !== f), ...extra];
    const { model } = trainModel(train, seed + f + 1);
    thresholds.push(model.threshold);
    data.forEach((p, i) => {
      if (folds[i] === f) oof[i] = flags(model, p);
    });
    if (heldOut.length > 0) heldOutFpr.push(heldOut.filter((p) => flags(model, p)).length / heldOut.length);
  }
  return { confusion: tally(data.map((p, i) => ({ y: p.y, flagged: oof[i]! }))), oof, heldOutFpr, thresholds };
}
