/**
 * Measures the injection detector against `@andersmyrmel/vard` and appends the figures to
 * MEASUREMENTS.md:
 *
 *   node --conditions=@rel/source --import tsx packages/guardrails/scripts/measure-injection.ts
 *
 * rel's deepset figures are by stratified 5-fold cross-validation (never scored on a fold it was
 * trained on, threshold chosen inside each training side); NotInject is never trained on.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measure, measureHeldOut } from './lib/measure';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const m = measure();
const table = [
  '| detector | deepset precision | deepset recall | deepset FPR | NotInject FPR |',
  '| --- | --- | --- | --- | --- |',
  `| rel (5-fold CV) | ${pct(m.rel.precision)} | ${pct(m.rel.recall)} | ${pct(m.rel.fpr)} | ${pct(m.rel.notInjectFpr)} (fold models, mean); ${pct(m.relShippedNotInjectFpr)} (shipped model) |`,
  `| @andersmyrmel/vard 1.2.0 (default) | ${pct(m.vard.precision)} | ${pct(m.vard.recall)} | ${pct(m.vard.fpr)} | ${pct(m.vard.notInjectFpr)} |`,
].join('\n');
const counts = `rel deepset TP ${m.rel.deepset.tp} FP ${m.rel.deepset.fp} TN ${m.rel.deepset.tn} FN ${m.rel.deepset.fn}; vard TP ${m.vard.deepset.tp} FP ${m.vard.deepset.fp} TN ${m.vard.deepset.tn} FN ${m.vard.deepset.fn}; NotInject flagged: rel ${m.rel.notInjectFlagged}, vard ${m.vard.notInjectFlagged} of ${m.rows.notInject}. Fold thresholds: ${m.thresholds.join(', ')}. Recall ratio rel/vard: ${(m.rel.recall / m.vard.recall).toFixed(2)}. Shipped model, strict profile (untrusted content), NotInject FPR: ${pct(m.relShippedNotInjectStrictFpr)}.`;
const heldOut = (['a', 'b'] as const).map(measureHeldOut);
const heldOutTable = [
  '| set | detector | injections flagged (recall) | benign flagged (FPR) |',
  '| --- | --- | --- | --- |',
  ...heldOut.flatMap((h) =>
    (
      [
        ['rel, default profile', h.flagged.relDefault],
        ['rel, strict profile (untrusted content)', h.flagged.relStrict],
        ['@andersmyrmel/vard 1.2.0', h.flagged.vard],
      ] as const
    ).map(
      ([name, f]) =>
        `| ${h.set.toUpperCase()} (${h.injections} + ${h.benign}) | ${name} | ${f.injections} (${pct(f.injections / h.injections)}) | ${f.benign} (${pct(f.benign / h.benign)}) |`,
    ),
  ),
].join('\n');
const byKind = heldOut
  .map(
    (h) =>
      `${h.set.toUpperCase()} by group (rel default / rel strict / vard): ${Object.entries(h.byKind)
        .map(([k, v]) => `${k} ${v.relDefault} / ${v.relStrict} / ${v.vard}`)
        .join('; ')}.`,
  )
  .join(' ');
console.log(table);
console.log(counts);
console.log(heldOutTable);
console.log(byKind);

const file = fileURLToPath(new URL('../MEASUREMENTS.md', import.meta.url));
if (!existsSync(file))
  writeFileSync(file, '# Measurements\n\nDated entries, newest last. Each names the command that produced it.\n');
appendFileSync(
  file,
  `\n## Prompt injection, ${new Date().toISOString().slice(0, 10)}\n\nCommand (from the repository root): \`node --conditions=@rel/source --import tsx packages/guardrails/scripts/measure-injection.ts\`\n\nData: deepset-train.jsonl (${m.rows.deepset} rows), notinject.jsonl (${m.rows.notInject} rows, all benign), from \`../shared/data/injection/\`; ${m.rows.authored} hand-written examples join every training side only.\n\n${table}\n\n${counts}\n\nrel's hand-written held-out sets (\`test/fixtures/held-out-injection*.jsonl\`: direct attacks, 10 languages, indirect injections in documents and tool results, obfuscation; benign security discussions, trigger words, other languages, documents), never trained on; shipped model. Set A was used to find failure families while improving the signatures (optimistic); set B was written before and scored only afterwards.\n\n${heldOutTable}\n\n${byKind}\n`,
);
