import { HELP, parseDemoArgs } from './cli';
import { runDemo } from './run-demo';
import { summaryTable } from './summary-table';

/**
 * `pnpm demo`: plays the scripted day (or one drill with `--scenario`), prints a sample of the
 * per-request log lines, the summary table (and for a drill, its signals) and the report's path.
 * Exits 1 when a drill's signal did not fire, 2 on a bad flag.
 */
async function main(argv: readonly string[]): Promise<number> {
  let args: ReturnType<typeof parseDemoArgs>;
  try {
    args = parseDemoArgs(argv);
  } catch (error) {
    process.stderr.write(`rel demo: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { help: _help, ...options } = args;
  const result = await runDemo(options);
  const out: string[] = [];
  out.push('per-request log lines (a sample; ts, service, trace_id and null fields left out):');
  for (const line of result.logSample) out.push(`  ${line}`);
  out.push('', summaryTable(result.summary).trimEnd());
  if (result.signals.length > 0) {
    out.push('', 'signals the playbook names:');
    for (const s of result.signals)
      out.push(`  ${s.fired ? 'FIRED ' : 'MISSING'}  ${s.name}  (observed: ${s.observed})`);
  }
  out.push('', `report: ${result.reportPath}`, '');
  process.stdout.write(out.join('\n'));
  return result.signals.every((s) => s.fired) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`rel demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
