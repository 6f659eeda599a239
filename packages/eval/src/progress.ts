/** Where progress goes: a writable stream, with `isTTY` when it is a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * A progress reporter for `onProgress`. On a terminal it redraws one bar line in place; anywhere
 * else (a CI log, a file) it prints a plain line about every tenth of the work, so logs never fill
 * with carriage returns or escape codes.
 * @example const progress = progressReporter(process.stderr, 'running'); await runGoldenSet(set, h, { onProgress: progress.update }); progress.done();
 */
export function progressReporter(stream: ProgressStream, label: string) {
  let last = 0;
  let drawn = false;
  const update = (done: number, all: number) => {
    if (stream.isTTY) {
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 24));
      const filled = all === 0 ? width : Math.round((done / all) * width);
      const pct = all === 0 ? 100 : Math.floor((done / all) * 100);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${all} ${pct}%`);
      drawn = true;
      return;
    }
    const every = Math.max(1, Math.ceil(all / 10));
    if (done === all || Math.floor(done / every) > Math.floor(last / every)) {
      stream.write(`${label}: ${done}/${all} runs done\n`);
    }
    last = done;
  };
  const done = () => {
    if (stream.isTTY && drawn) stream.write('\n');
  };
  return { update, done };
}
