import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = fileURLToPath(new URL('..', import.meta.url));

/** A gateway running as its own process through `src/main.ts`, as an operator runs it. */
export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the URL once the gateway listens; rejects when it exits first. */
  readonly listening: Promise<string>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Writes a config file (JSON) and returns its path. */
export function writeConfig(config: unknown, name = 'gateway.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'rel-gateway-'));
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

/** Spawns `node --conditions=@rel/source --import tsx src/main.ts --config <file>`. */
export function spawnGateway(configFile: string, env: Record<string, string> = {}): GatewayProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@rel/source', '--import', 'tsx', 'src/main.ts', '--config', configFile],
    { cwd: appDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        stdout.push(line);
        if (line.includes('"rel.gateway.listening"')) resolve(JSON.parse(line).url as string);
        nl = buffer.indexOf('\n');
      }
    });
    child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    void exited.then((code) => reject(new Error(`gateway exited with ${code}: ${stderr.join('')}`)));
  });
  listening.catch(() => {});
  return { child, stdout, stderr, listening, exited };
}
