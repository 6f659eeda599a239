import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DRILL_NAMES } from '../src/cli';
import { DRILLS } from '../src/drills';
import { runDemo } from '../src/run-demo';

const dir = mkdtempSync(join(tmpdir(), 'rel-drills-'));

describe('incident drills fire the signals their playbooks name', () => {
  for (const name of DRILL_NAMES) {
    it(`${name}: ${DRILLS[name].title}`, async () => {
      const { signals } = await runDemo({
        scenario: name,
        requests: undefined,
        seed: 7,
        out: join(dir, `${name}.html`),
        progress: false,
        env: {},
      });
      expect(signals.map((s) => s.name)).toEqual(DRILLS[name].signals.map((s) => s.name));
      expect(signals.filter((s) => !s.fired)).toEqual([]);
    });
  }
});
