import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** A `redis-server` started for a test. */
export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM) and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would, and waits for it to exit. */
  kill(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** The binary; default `$REL_REDIS_SERVER`, else `redis-server` on the PATH. */
  binary?: string;
  /** Extra `redis-server` arguments. */
  args?: readonly string[];
  /** A fixed port (e.g. to restart a killed server where its clients expect it); default a free one. */
  port?: number;
  /** How long to wait for the first PING answer. Default 10 s. */
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts a throwaway `redis-server` on a free loopback port, without persistence
 * (`--save '' --appendonly no`), and resolves once it answers PING. Stop it with `stop()` (or
 * `kill()` to simulate a crash); any still running when the process exits are killed.
 * @throws Error when the binary is missing or the server does not answer in time.
 * @example
 * const redis = await startRedisServer();
 * const store = new RedisStore({ url: redis.url });
 * // ... test ...
 * await store.close();
 * await redis.stop();
 */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = options.binary ?? process.env.REL_REDIS_SERVER ?? 'redis-server';
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(binary, port, options);
    } catch (error) {
      lastError = error;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
    }
  }
  throw new Error(
    `startRedisServer: could not start ${binary} (install it with \`apt-get install -y redis-server\` or set REL_REDIS_SERVER)`,
    { cause: lastError },
  );
}

async function launch(binary: string, port: number, options: StartRedisServerOptions): Promise<RedisServerHandle> {
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
  args.push('--daemonize', 'no', '--loglevel', 'warning', ...(options.args ?? []));
  const child = spawn(binary, args, { stdio: 'ignore' });
  // A binary that cannot be spawned (ENOENT) emits 'error' and never 'exit'.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => {
      if (child.pid === undefined) resolve();
    });
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited early with code ${code}`)));
  });
  failed.catch(() => {});
  running.add(child);
  exited.then(() => running.delete(child));
  installExitHook();
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  try {
    await Promise.race([waitForPong(port, options.startTimeoutMs ?? 10_000), failed]);
  } catch (error) {
    await signal('SIGKILL');
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid as number,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A port the OS reports free on 127.0.0.1 (it may be taken again before use; callers retry). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Polls with a raw PING until the server answers `+PONG`. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
