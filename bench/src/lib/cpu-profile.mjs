// `node src/lib/cpu-profile.mjs <file.cpuprofile> [top=30]`: the hottest functions of a V8 CPU
// profile (node --cpu-prof), by self samples and by inclusive samples, as % of all samples, with
// file:line relative to the repository. Percentages are of the BUSY samples: idle samples and
// samples spent loading modules (start-up) are left out, so a server profiled under load reports
// where its request handling goes. Used to report the gateway benchmark's hot spots.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is bench/src/lib/cpu-profile.mjs), stripped from file names. */
const ROOT = `${resolve(dirname(fileURLToPath(import.meta.url)), '../../..')}/`;

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node src/lib/cpu-profile.mjs <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const stackOf = (id) => {
  const out = [];
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) out.push(byId.get(cur).callFrame);
  return out;
};
const startup = (id) =>
  stackOf(id).some(
    // Node's module evaluation, not a function of ours that happens to be called `evaluate`.
    (cf) =>
      cf.url.startsWith('node:internal/modules/') || (cf.functionName === 'evaluate' && !cf.url.startsWith('file:')),
  );
let idle = 0;
let loading = 0;
for (const [id, count] of [...counts]) {
  const name = byId.get(id).callFrame.functionName;
  if (name === '(idle)') idle += count;
  else if (startup(id)) loading += count;
  else continue;
  counts.delete(id);
}
const total = [...counts.values()].reduce((a, c) => a + c, 0);

const where = (cf) => {
  const url = cf.url
    .replace(/^file:\/\//, '')
    .replace(ROOT, '')
    .replace(/^.*node_modules\/\.pnpm\/([^/]+)\/node_modules\//, 'npm:');
  return `${url || '(native)'}:${cf.functionName || '(anonymous)'}:${cf.lineNumber + 1}`;
};
const self = new Map();
const incl = new Map();
for (const [id, count] of counts) {
  const node = byId.get(id);
  const key = where(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + count);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = where(byId.get(cur).callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + count);
  }
}
const pct = (x) => `${((100 * x) / total).toFixed(1)}%`.padStart(6);
const durationS = (profile.endTime - profile.startTime) / 1e6;
console.log(
  `${file}: ${profile.samples.length} samples over ${durationS.toFixed(1)} s; ${idle} idle and ${loading} module-loading samples left out; % of the ${total} busy samples`,
);
console.log('\nself:');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
console.log('\ninclusive:');
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
// By file (self), to see which package the time goes to.
const files = new Map();
for (const [k, v] of self) {
  const f = k.split(':').slice(0, -2).join(':');
  files.set(f, (files.get(f) ?? 0) + v);
}
console.log('\nself by file:');
for (const [k, v] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
