import { parseArgs } from 'node:util';
import { RelError } from '@rel/core';
import { createGateway } from './app';
import { hashKey } from './auth';
import { ConfigError, loadConfig } from './config';

/**
 * The `rel-gateway` command:
 * - `rel-gateway --config gateway.yaml [--port N]` serves until SIGTERM or SIGINT, then shuts down
 *   gracefully and exits 0; a bad config exits 1 listing every bad field. SIGHUP re-reads the
 *   file (a bad one keeps the running config and logs every bad field).
 * - `rel-gateway hash-key <key>` prints the `sha256:` form to put in `keys[].hash`.
 */
async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { config: { type: 'string', short: 'c' }, port: { type: 'string' }, help: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals[0] === 'hash-key') {
    const key = positionals[1];
    if (!key) {
      process.stderr.write('usage: rel-gateway hash-key <key>\n');
      return 2;
    }
    process.stdout.write(`${hashKey(key)}\n`);
    return 0;
  }
  if (values.help || !values.config) {
    process.stderr.write(
      'usage: rel-gateway --config <gateway.yaml|json> [--port N]\n       rel-gateway hash-key <key>\n',
    );
    return values.help ? 0 : 2;
  }
  const out = (event: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), event, ...fields })}\n`);
  let gateway: ReturnType<typeof createGateway>;
  try {
    const config = loadConfig(values.config);
    if (values.port !== undefined) config.server.port = Number(values.port);
    gateway = createGateway(config, { diagnostics: process.stdout, configFile: values.config });
    await gateway.start();
  } catch (error) {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else if (RelError.is(error)) process.stderr.write(`rel-gateway: ${error.message}\n`);
    else process.stderr.write(`rel-gateway: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  // A stray failure is reported by kind and never takes the process down (no message: it may hold content).
  process.on('uncaughtException', (error) => out('rel.gateway.uncaught', { error: kindOf(error) }));
  process.on('unhandledRejection', (error) => out('rel.gateway.unhandled_rejection', { error: kindOf(error) }));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      out('rel.gateway.shutdown', { signal });
      gateway.shutdown().then(
        () => {
          out('rel.gateway.stopped');
          resolve(0);
        },
        (error: unknown) => {
          out('rel.gateway.shutdown_failed', { error: kindOf(error) });
          resolve(1);
        },
      );
    };
    // SIGHUP: re-read the config file; a bad one keeps the running config (the gateway logs why).
    const onHup = () => void gateway.reload();
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

function kindOf(error: unknown): string {
  if (RelError.is(error)) return error.failure.kind;
  return error instanceof Error ? error.name : typeof error;
}

// `pnpm start -- --config x` passes the `--` through.
const args = process.argv.slice(2);
main(args[0] === '--' ? args.slice(1) : args).then(
  (code) => {
    process.exitCode = code;
    // Redis sockets and exporters are closed by now; exit without waiting on stray timers.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    process.stderr.write(`rel-gateway: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
