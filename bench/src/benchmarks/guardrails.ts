/**
 * guardrails: input scan throughput in MB/s (UTF-8 bytes of the prompts scanned per second).
 *
 * One operation is one pass over a fixed prompt mix (deepset + NotInject + presidio, every 4th row),
 * prompt by prompt, as a gateway scans each request. What each tool does:
 * - rel input pipeline: `normalize` (invisible characters, homoglyphs, leetspeak, decoded base64 /
 *   hex / URL / entity / ROT13 payloads) + injection signatures + char n-gram classifier
 *   (`detectInjection`), then PII detection of 7 types with validators (`createPiiDetector()`).
 * - vard 1.2.0 `vard.safe(text)`: prompt-injection patterns, default (moderate) configuration.
 * - openredaction 1.1.5 `new OpenRedaction().detect(text)`: PII, default configuration (its 570+
 *   regex patterns, names and addresses included, with placeholder redaction; async API).
 * rel's injection half is compared with vard, its PII half with openredaction, and the whole
 * pipeline with each.
 */
import vard from '@andersmyrmel/vard';
import { createPiiDetector, detectInjection } from '@rel/guardrails';
import { OpenRedaction } from 'openredaction';
import { type Candidate, compare, fmtNs } from '../lib/measure';
import { promptMix } from '../lib/data';
import { table } from '../lib/report';

/** Runs the comparison and returns the RESULTS.md body. */
export async function guardrailsBench(): Promise<string> {
  const mix = promptMix(4);
  const bytes = mix.reduce((a, t) => a + Buffer.byteLength(t, 'utf8'), 0);
  const pii = createPiiDetector();
  const redactor = new OpenRedaction();
  const flagged = mix.filter((t) => detectInjection(t).flagged).length;
  const candidates: Candidate[] = [
    {
      name: 'rel input pipeline (normalize + injection + PII)',
      sync: true,
      bytesPerOp: bytes,
      run: () => {
        for (const t of mix) {
          detectInjection(t);
          pii(t);
        }
      },
    },
    {
      name: 'rel injection (normalize + signatures + classifier)',
      sync: true,
      bytesPerOp: bytes,
      run: () => {
        for (const t of mix) detectInjection(t);
      },
    },
    {
      name: 'rel PII (`createPiiDetector()`)',
      sync: true,
      bytesPerOp: bytes,
      run: () => {
        for (const t of mix) pii(t);
      },
    },
    {
      name: 'vard 1.2.0 `safe()` (injection)',
      sync: true,
      bytesPerOp: bytes,
      run: () => {
        for (const t of mix) vard.safe(t);
      },
    },
    {
      name: 'openredaction 1.1.5 `detect()` (PII)',
      bytesPerOp: bytes,
      run: async () => {
        for (const t of mix) await redactor.detect(t);
      },
    },
  ];
  const m = await compare(candidates, { samples: 9, targetBatchMs: 1, warmupMs: 1500 });
  const [whole, inj, relPii, v, or] = m as [(typeof m)[0], (typeof m)[0], (typeof m)[0], (typeof m)[0], (typeof m)[0]];
  const mb = (x: (typeof m)[0]) => (x.mbPerSec as number).toFixed(3);
  const r = (relM: (typeof m)[0], peer: (typeof m)[0]) => (peer.medianNs / relM.medianNs).toFixed(2);
  const perPrompt = (x: (typeof m)[0]) => fmtNs(x.medianNs / mix.length);
  const rows = [
    [whole.name, mb(whole), perPrompt(whole), `${r(whole, v)} vs vard; ${r(whole, or)} vs openredaction`],
    [inj.name, mb(inj), perPrompt(inj), `${r(inj, v)} vs vard`],
    [relPii.name, mb(relPii), perPrompt(relPii), `${r(relPii, or)} vs openredaction`],
    [v.name, mb(v), perPrompt(v), ''],
    [or.name, mb(or), perPrompt(or), ''],
  ];
  return [
    table(['scanner', 'MB/s', 'per prompt (mean)', 'ratio (peer time / rel time)'], rows),
    '',
    `Input: ${mix.length} prompts, ${(bytes / 1024).toFixed(1)} KiB UTF-8 (every 4th row of deepset-train,`,
    'NotInject and presidio-synth, interleaved; read from `../shared/data`). One operation = one pass',
    'over all of them; 9 interleaved samples after a 1.5 s warm-up each; median. Ratio above 1: rel is faster.',
    `Sanity: rel flags ${flagged} of the ${mix.length} prompts as injections.`,
    'What each does: rel = normalize (invisible characters, homoglyphs, leetspeak, decoded base64/hex/URL/',
    'entity/ROT13 payloads) + signatures + char n-gram classifier, then 7 PII types with checksums;',
    'vard = injection patterns (default config); openredaction = PII, 570+ patterns incl. names and',
    'addresses, placeholder redaction, async.',
  ].join('\n');
}
