#!/usr/bin/env node
// Runs every workspace's tests through turbo and prints, as the last line, `N passed, N failed`.
// A workspace with a `test` script but no vitest report counts as one failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['packages', 'apps'].flatMap((d) =>
  existsSync(join(root, d)) ? readdirSync(join(root, d)).map((n) => join(root, d, n)) : [],
);
const tested = dirs.filter((d) => {
  const pkg = join(d, 'package.json');
  return existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).scripts?.test;
});
for (const d of tested) rmSync(join(d, '.vitest-result.json'), { force: true });

const extra = process.argv.slice(2);
const run = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', '--continue', '--force', ...extra], {
  cwd: root,
  stdio: 'inherit',
  env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
});

let passed = 0;
let failed = 0;
const rows = [];
for (const d of tested) {
  const file = join(d, '.vitest-result.json');
  const name = d.slice(root.length);
  if (!existsSync(file)) {
    failed += 1;
    rows.push(`${name}: no test report`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numTotalTests === 0 ? 1 : 0);
  if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) failed += report.numFailedTestSuites;
  rows.push(`${name}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
}
console.log(`\n${rows.join('\n')}`);
if (run.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
