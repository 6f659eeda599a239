#!/usr/bin/env node
// Runs every workspace's tests through turbo and prints, as the last line, `N passed, N failed`.
// Counted as failures, beside failed tests: a workspace with a `test` script but no readable
// vitest report (it crashed first), a report with no tests, a test file that failed to load or
// whose hook failed, and a test task that exited non-zero although its report shows no failed
// test (an unhandled error, say). Exits non-zero on any failure. Extra arguments go to turbo.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const readJson = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
};
const workspaces = ['packages', 'apps', 'bench']
  .flatMap((d) => {
    const dir = join(root, d);
    if (!existsSync(dir)) return [];
    if (existsSync(join(dir, 'package.json'))) return [dir];
    return readdirSync(dir).map((n) => join(dir, n));
  })
  .map((dir) => ({ dir, pkg: readJson(join(dir, 'package.json')) }))
  .filter(({ pkg }) => pkg?.scripts?.test);
for (const { dir } of workspaces) rmSync(join(dir, '.vitest-result.json'), { force: true });

const summaryDir = join(root, '.turbo', 'runs');
const before = new Set(existsSync(summaryDir) ? readdirSync(summaryDir) : []);
const extra = process.argv.slice(2);
const run = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', '--continue', '--force', '--summarize', ...extra], {
  cwd: root,
  stdio: 'inherit',
  env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
});

// The test tasks turbo planned (a `--filter` narrows them) and the exit code of each that ran,
// from the run summary it just wrote. Without a summary, every workspace counts.
const planned = new Set();
const exitCodes = new Map();
const fresh = existsSync(summaryDir) ? readdirSync(summaryDir).filter((f) => !before.has(f)) : [];
for (const file of fresh) {
  for (const task of readJson(join(summaryDir, file))?.tasks ?? []) {
    if (task.task !== 'test') continue;
    planned.add(task.package);
    if (typeof task.execution?.exitCode === 'number') exitCodes.set(task.package, task.execution.exitCode);
  }
  rmSync(join(summaryDir, file), { force: true });
}

let passed = 0;
let failed = 0;
const rows = [];
for (const { dir, pkg } of workspaces) {
  if (planned.size > 0 && !planned.has(pkg.name)) continue;
  const name = dir.slice(root.length);
  const report = readJson(join(dir, '.vitest-result.json'));
  const exitCode = exitCodes.get(pkg.name);
  if (!report) {
    failed += 1;
    rows.push(`${name}: no test report${exitCode === undefined ? '' : ` (exit ${exitCode})`}`);
    continue;
  }
  const ok = report.numPassedTests ?? 0;
  const bad = report.numFailedTests ?? 0;
  // A file that failed without a failed test: it did not load, or a hook failed.
  const brokenFiles = (report.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  const empty = report.numTotalTests === 0 ? 1 : 0;
  const crashed = exitCode !== undefined && exitCode !== 0 && bad + brokenFiles + empty === 0 ? 1 : 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  passed += ok;
  failed += bad + brokenFiles + empty + crashed;
  const notes = [
    brokenFiles ? `${brokenFiles} test file(s) failed to run` : '',
    empty ? 'no tests' : '',
    crashed ? `exited ${exitCode} with no failed test (an unhandled error?)` : '',
    skipped ? `${skipped} skipped` : '',
  ].filter(Boolean);
  rows.push(`${name}: ${ok} passed, ${bad} failed${notes.length ? ` (${notes.join('; ')})` : ''}`);
}
console.log(`\n${rows.join('\n')}`);
if (run.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
