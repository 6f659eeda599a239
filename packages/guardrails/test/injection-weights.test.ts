import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAuthored, loadDeepset } from '../scripts/lib/data';
import { SEED, prepare, trainModel } from '../scripts/lib/pipeline';
import { INJECTION_WEIGHTS } from '../src/injection/weights.generated';

describe('shipped injection weights', () => {
  // One full training (~1 s of CPU); the timeout leaves room for a busy shared machine.
  it('are exactly what the training script produces from the data (reproducible training)', { timeout: 60_000 }, () => {
    const { serialized } = trainModel(prepare([...loadDeepset(), ...loadAuthored()]), SEED);
    const { training: _, ...shipped } = INJECTION_WEIGHTS;
    expect(serialized).toEqual(shipped);
  });

  it('match the JSON weights file and stay compact', () => {
    const file = fileURLToPath(new URL('../weights/injection-model.json', import.meta.url));
    const text = readFileSync(file, 'utf8');
    expect(JSON.parse(text)).toEqual(INJECTION_WEIGHTS);
    expect(text.length).toBeLessThan(300_000);
  });
});
