import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createPiiDetector } from '../src/pii/detect-pii';
import type { PiiType } from '../src/pii/pii-types';

// The shared evaluation data lives next to the repository: <repo>/../shared/data.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dataFile = resolve(repoRoot, '../shared/data/pii/presidio-synth.jsonl');

const GOLD_TYPES: Readonly<Record<string, PiiType>> = {
  CREDIT_CARD: 'credit_card',
  EMAIL_ADDRESS: 'email',
  IBAN_CODE: 'iban',
  PHONE_NUMBER: 'phone',
  US_SSN: 'ssn',
  IP_ADDRESS: 'ip_address',
};

interface Row {
  text: string;
  spans: { start: number; end: number; type: string }[];
}

interface Tally {
  gold: number;
  found: number;
  predicted: number;
  correct: number;
}

function measure(rows: readonly Row[]): Map<PiiType, Tally> {
  const detect = createPiiDetector();
  const tallies = new Map<PiiType, Tally>();
  const tally = (t: PiiType) => {
    let v = tallies.get(t);
    if (!v) tallies.set(t, (v = { gold: 0, found: 0, predicted: 0, correct: 0 }));
    return v;
  };
  for (const t of Object.values(GOLD_TYPES)) tally(t);
  const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) =>
    a.start < b.end && b.start < a.end;
  for (const row of rows) {
    const gold = row.spans.flatMap((s) => (GOLD_TYPES[s.type] ? [{ ...s, type: GOLD_TYPES[s.type]! }] : []));
    const predicted = detect(row.text).filter((p) => p.type !== 'secret');
    for (const g of gold) {
      tally(g.type).gold++;
      if (predicted.some((p) => p.type === g.type && overlaps(p, g))) tally(g.type).found++;
    }
    for (const p of predicted) {
      tally(p.type).predicted++;
      if (gold.some((g) => g.type === p.type && overlaps(p, g))) tally(p.type).correct++;
    }
  }
  return tallies;
}

describe('PII detection on presidio-research synthetic data', () => {
  const rows = readFileSync(dataFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);
  const tallies = measure(rows);
  const recall = (t: PiiType) => tallies.get(t)!.found / tallies.get(t)!.gold;
  const precision = (t: PiiType) => {
    const v = tallies.get(t)!;
    return v.predicted === 0 ? 1 : v.correct / v.predicted;
  };

  it('prints recall and precision per entity type', () => {
    const lines = ['type          gold  recall  predicted  precision'];
    for (const [type, v] of tallies) {
      lines.push(
        `${type.padEnd(12)} ${String(v.gold).padStart(5)}  ${recall(type).toFixed(3)}  ${String(v.predicted).padStart(9)}  ${precision(type).toFixed(3)}`,
      );
    }
    console.log(lines.join('\n'));
    expect(rows.length).toBeGreaterThan(0);
  });

  it('finds at least 98% of credit cards, IBANs and emails', () => {
    expect(recall('credit_card')).toBeGreaterThanOrEqual(0.98);
    expect(recall('iban')).toBeGreaterThanOrEqual(0.98);
    expect(recall('email')).toBeGreaterThanOrEqual(0.98);
  });

  it('finds at least 90% of phone numbers', () => {
    expect(recall('phone')).toBeGreaterThanOrEqual(0.9);
  });
});
