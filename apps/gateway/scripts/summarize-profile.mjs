// Summarizes a .cpuprofile: self-time share by function (file:function) and by package.
import { readFileSync } from 'node:fs';

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const top = Number(process.argv[3] ?? 40);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const counts = new Map();
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = profile.samples.length;
const self = new Map();
const byPackage = new Map();
const short = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, 'npm:')
    .replace(/.*\/work\/main\//, '');
const pkgOf = (url) => {
  const s = short(url);
  if (!s) return '(native/gc/idle)';
  if (s.startsWith('npm:'))
    return s
      .split('/')
      .slice(0, s.startsWith('npm:@') ? 2 : 1)
      .join('/');
  if (s.startsWith('node:')) return 'node-internals';
  return s.split('/').slice(0, 2).join('/');
};
for (const [id, c] of counts) {
  const n = byId.get(id);
  const f = n.callFrame;
  const key = `${short(f.url) || '(native)'}:${f.functionName || '(anonymous)'}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + c);
  const p = pkgOf(f.url) + (f.url ? '' : ` ${f.functionName}`);
  byPackage.set(p, (byPackage.get(p) ?? 0) + c);
}
const pct = (c) => `${((c / total) * 100).toFixed(1)}%`;
console.log(`samples: ${total}`);
console.log('\n== by package/area ==');
for (const [k, c] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(pct(c).padStart(6), k);
console.log('\n== top self time ==');
for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(c).padStart(6), k);

// Inclusive share of functions whose `file:function` matches the regex in argv[4] (each sample counted once per function).
if (process.argv[4]) {
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const re = new RegExp(process.argv[4]);
  const incl = new Map();
  for (const [id, c] of counts) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame;
      const key = `${short(f.url)}:${f.functionName || '(anonymous)'}`;
      if (re.test(key) && !seen.has(key)) {
        seen.add(key);
        incl.set(key, (incl.get(key) ?? 0) + c);
      }
    }
  }
  console.log('\n== inclusive ==');
  for (const [k, c] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(c).padStart(6), k);
}
