import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRILL_NAMES } from '../src/cli';
import { DRILLS } from '../src/drills';
import { DEMO_ADMIN_KEY } from '../src/scenario';
import { type DemoStack, startStack } from '../src/stack';

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

/** Every `curl ... "$GATEWAY/admin/..."` command of a markdown file: method, path and body. */
function adminCalls(text: string): { method: string; path: string; body?: string; line: string }[] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  return [...joined.matchAll(/^\s*curl [^\n]*"\$GATEWAY(\/admin\/[^"]+)"[^\n]*$/gm)].map((m) => {
    const line = m[0].trim();
    const body = /-d '([^']*)'/.exec(line)?.[1];
    return { method: /-X (\w+)/.exec(line)?.[1] ?? 'GET', path: m[1] ?? '', ...(body ? { body } : {}), line };
  });
}

describe('the admin calls the runbooks give work against a real gateway', () => {
  let stack: DemoStack;
  beforeAll(async () => {
    stack = await startStack({ requests: 10, hourMs: 400, seed: 7 });
  });
  afterAll(() => stack.close());

  for (const file of ['README.md', ...Object.values(PLAYBOOK)]) {
    it(`every curl in ${file} answers 200 from the demo's gateway`, async () => {
      const calls = adminCalls(readFileSync(join(RUNBOOKS, file), 'utf8'));
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) {
        const res = await fetch(`${stack.gateway.url}${call.path}`, {
          method: call.method,
          headers: {
            authorization: `Bearer ${DEMO_ADMIN_KEY}`,
            ...(call.body ? { 'content-type': 'application/json' } : {}),
          },
          ...(call.body ? { body: call.body } : {}),
        });
        expect({ call: call.line, status: res.status }).toEqual({ call: call.line, status: 200 });
      }
    });
  }
});
