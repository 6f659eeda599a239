import type { SparseVector } from '../../src/injection/features';

/** Settings of one training run. */
export interface TrainOptions {
  readonly dims: number;
  /** L2 penalty on the weights (not on the bias). */
  readonly l2: number;
  readonly learningRate: number;
  readonly iterations: number;
  /** Weigh the classes so both count equally in the loss. */
  readonly balance: boolean;
}

/** Trained logistic-regression parameters. */
export interface Trained {
  readonly weights: Float64Array;
  readonly bias: number;
}

/**
 * Full-batch Adam on the mean log-loss plus L2. Deterministic: no sampling, a fixed order, so the
 * same data gives the same weights bit for bit. Only buckets some training text uses are updated
 * (the others stay exactly 0 under L2).
 */
export function trainLogReg(xs: readonly SparseVector[], ys: readonly number[], opts: TrainOptions): Trained {
  const w = new Float64Array(opts.dims);
  const used = new Uint8Array(opts.dims);
  for (const x of xs) for (const i of x.indices) used[i] = 1;
  const activeList: number[] = [];
  used.forEach((u, i) => {
    if (u) activeList.push(i);
  });
  const active = Int32Array.from(activeList);
  const m = new Float64Array(opts.dims);
  const v = new Float64Array(opts.dims);
  const g = new Float64Array(opts.dims);
  let mb = 0;
  let vb = 0;
  const pos = ys.filter((y) => y === 1).length;
  const neg = ys.length - pos;
  const n = xs.length;
  const weightOf = Float64Array.from(ys, (y) =>
    opts.balance ? (y === 1 ? n / (2 * Math.max(1, pos)) : n / (2 * Math.max(1, neg))) : 1,
  );
  const target = Float64Array.from(ys);
  // Flattened for memory locality; every feature of a text has the same value (binary, unit length).
  const offsets = new Int32Array(n + 1);
  xs.forEach((x, k) => {
    offsets[k + 1] = offsets[k]! + x.indices.length;
  });
  const flat = new Int32Array(offsets[n]!);
  const scale = new Float64Array(n);
  xs.forEach((x, k) => {
    flat.set(x.indices, offsets[k]!);
    scale[k] = x.values[0] ?? 0;
  });
  const b1 = 0.9;
  const b2 = 0.999;
  let bias = 0;
  for (let t = 1; t <= opts.iterations; t++) {
    for (let a = 0; a < active.length; a++) g[active[a]!] = 0;
    let gb = 0;
    for (let k = 0; k < n; k++) {
      const from = offsets[k]!;
      const to = offsets[k + 1]!;
      const value = scale[k]!;
      let z = bias;
      for (let i = from; i < to; i++) z += w[flat[i]!]! * value;
      const err = (1 / (1 + Math.exp(-z)) - target[k]!) * weightOf[k]!;
      const step = err * value;
      for (let i = from; i < to; i++) g[flat[i]!]! += step;
      gb += err;
    }
    const lr = (opts.learningRate * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    for (let a = 0; a < active.length; a++) {
      const j = active[a]!;
      const grad = g[j]! / n + opts.l2 * w[j]!;
      m[j] = b1 * m[j]! + (1 - b1) * grad;
      v[j] = b2 * v[j]! + (1 - b2) * grad * grad;
      w[j]! -= (lr * m[j]!) / (Math.sqrt(v[j]!) + 1e-8);
    }
    const gradB = gb / n;
    mb = b1 * mb + (1 - b1) * gradB;
    vb = b2 * vb + (1 - b2) * gradB * gradB;
    bias -= (lr * mb) / (Math.sqrt(vb) + 1e-8);
  }
  return { weights: w, bias };
}
