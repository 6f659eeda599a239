import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataTexts } from '../../test/support';
import { normalize } from '../normalize/normalize';
import { type InjectionModel, classifierLogit } from './classifier';
import { collectSignals, defaultInjectionModel } from './detect';
import { featurize } from './features';

/** The classifier as first written: the sparse vector of `featurize`, then its dot product. */
function referenceLogit(model: InjectionModel, skeleton: string): number {
  const x = featurize(skeleton, model.spec);
  let z = model.bias;
  for (let i = 0; i < x.indices.length; i++) z += model.weights[x.indices[i]!]! * x.values[i]!;
  return z;
}

const pieces = [
  'ignore',
  ' ',
  '  ',
  '\n',
  '-',
  'a',
  'Ä',
  'ß',
  '日本',
  '😀',
  '\ud800',
  '\udc00',
  '𝐀',
  '٣',
  'x1',
  '.',
  'ς',
];
const text = fc.oneof(
  fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

describe('classifier score computed without building the feature vector', () => {
  it('equals the reference dot product to the last bit on every view of every text of the data files', () => {
    const model = defaultInjectionModel();
    const texts = dataTexts();
    expect(texts.length).toBeGreaterThan(2000);
    let views = 0;
    for (const t of texts) {
      for (const v of collectSignals(normalize(t)).views) {
        views++;
        expect(Object.is(classifierLogit(model, v), referenceLogit(model, v))).toBe(true);
      }
    }
    expect(views).toBeGreaterThanOrEqual(texts.length);
  });

  it('equals the reference for any text, feature-space size and weights (property)', () => {
    fc.assert(
      fc.property(text, fc.constantFrom(5, 8, 12, 16), fc.integer(), (s, bits, seed) => {
        const weights = new Float32Array(1 << bits);
        let r = seed >>> 0;
        for (let i = 0; i < weights.length; i++) {
          r = (Math.imul(r, 1103515245) + 12345) >>> 0;
          weights[i] = ((r >>> 8) % 255) - 127;
        }
        const model: InjectionModel = { spec: { bits, minGram: 2, maxGram: 5 }, bias: 0.25, threshold: 0.5, weights };
        const got = classifierLogit(model, s);
        expect(Object.is(got, referenceLogit(model, s))).toBe(true);
        // Called again at once: the shared scratch bitmaps were left empty.
        expect(Object.is(classifierLogit(model, s), got)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
  it('equals the reference for n-gram ranges other than the shipped 2 to 5 (property)', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 }), (s, minGram, extra) => {
        const bits = 12;
        const weights = new Float32Array(1 << bits).map((_, i) => ((i * 2654435761) % 255) - 127);
        const spec = { bits, minGram, maxGram: minGram + extra };
        const model: InjectionModel = { spec, bias: -0.5, threshold: 0.5, weights };
        expect(Object.is(classifierLogit(model, s), referenceLogit(model, s))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
