import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DRILL_NAMES } from '../src/cli';
import { DRILLS } from '../src/drills';

const RUNBOOKS = join(import.meta.dirname, '..', '..', '..', 'docs', 'runbooks');
const PLAYBOOK = {
  outage: 'model-outage.md',
  latency: 'degraded-latency.md',
  malformed: 'malformed-output.md',
  policy: 'policy-violation.md',
};

describe('playbooks name exactly the signals their drills check', () => {
  for (const name of DRILL_NAMES) {
    it(`${PLAYBOOK[name]} lists every signal of the ${name} drill and its drill command`, () => {
      const text = readFileSync(join(RUNBOOKS, PLAYBOOK[name]), 'utf8');
      for (const signal of DRILLS[name].signals) expect(text).toContain(`- \`${signal.name}\``);
      const listed = [...text.matchAll(/^- `(.+)`$/gm)].map((m) => m[1]);
      expect(listed).toEqual(DRILLS[name].signals.map((s) => s.name));
      expect(text).toContain(`pnpm demo -- --scenario ${name}`);
    });
  }

  it('the on-call runbook links every playbook', () => {
    const text = readFileSync(join(RUNBOOKS, 'README.md'), 'utf8');
    for (const file of Object.values(PLAYBOOK)) expect(text).toContain(`(${file})`);
  });
});
