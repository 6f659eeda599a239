import { type FeatureSpec, hashedLogit } from './features';

/** The weights as shipped: int8 values in base64, with their scale. */
export interface SerializedModel {
  readonly format: 'rel-injection-logreg';
  readonly version: number;
  readonly spec: FeatureSpec;
  readonly bias: number;
  /** Multiply an int8 value by `scale` to get the weight. */
  readonly scale: number;
  /** The classifier's decision threshold, as a probability, chosen at training time. */
  readonly threshold: number;
  /**
   * The lower threshold of the `strict` profile (untrusted content), chosen at training time for a
   * higher but bounded false-positive rate; absent in older files (then 2 log-odds below `threshold`).
   */
  readonly strictThreshold?: number;
  /** One int8 per hash bucket, base64. */
  readonly weights: string;
  /** How the weights were made (data, sizes, settings); informative only. */
  readonly training?: Readonly<Record<string, unknown>>;
}

/** A character n-gram logistic-regression model ready to score texts. */
export interface InjectionModel {
  readonly spec: FeatureSpec;
  readonly bias: number;
  readonly threshold: number;
  /** See `SerializedModel.strictThreshold`. */
  readonly strictThreshold?: number;
  readonly weights: Float32Array;
}

/**
 * Decodes shipped weights into a model.
 * @throws Error when the format or the number of weights is not what the spec says.
 */
export function decodeModel(serialized: SerializedModel): InjectionModel {
  if (serialized.format !== 'rel-injection-logreg') throw new Error(`unknown model format ${serialized.format}`);
  const bin = atob(serialized.weights);
  const size = 1 << serialized.spec.bits;
  if (bin.length !== size) throw new Error(`expected ${size} weights, got ${bin.length}`);
  const weights = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const byte = bin.charCodeAt(i);
    weights[i] = (byte > 127 ? byte - 256 : byte) * serialized.scale;
  }
  return {
    spec: serialized.spec,
    bias: serialized.bias,
    threshold: serialized.threshold,
    ...(serialized.strictThreshold === undefined ? {} : { strictThreshold: serialized.strictThreshold }),
    weights,
  };
}

/**
 * The model's log-odds that `skeleton` is an injection: `bias` plus the dot product of the weights
 * with `featurize(skeleton)`, computed without building the vector (see `hashedLogit`).
 */
export function classifierLogit(model: InjectionModel, skeleton: string): number {
  return hashedLogit(skeleton, model.spec, model.weights, model.bias);
}

/** Log-odds of a probability. */
export function logit(p: number): number {
  const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
  return Math.log(q / (1 - q));
}

/** The logistic function. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
