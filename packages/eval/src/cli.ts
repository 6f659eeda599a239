import { runCli } from './cli-main';

// The `rel-eval` binary: all the work is in `runCli`, which tests call in-process.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`rel-eval: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 3;
  },
);
