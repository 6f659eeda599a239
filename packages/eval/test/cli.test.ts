import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeProvider } from '@rel/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT_CODES, runCli } from '../src/index';

const pkg = join(import.meta.dirname, '..');
const examples = join(pkg, 'examples');
const fake = new FakeProvider();
let server: Awaited<ReturnType<FakeProvider['listen']>>;
let dir: string;

beforeAll(async () => {
  server = await fake.listen();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async (ctx) => {
  dir = await mkdtemp(join(tmpdir(), 'rel-eval-cli-'));
  await cp(examples, dir, { recursive: true });
  ctx.onTestFinished(() => rm(dir, { recursive: true, force: true }));
});

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    cwd: dir,
    env: {},
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
  });
  return { code, stdout, stderr };
}

const gate = (...extra: string[]) =>
  cli(
    'run',
    '--set',
    'golden.yaml',
    '--target',
    server.baseURL,
    '--repeat',
    '3',
    '--baseline',
    'baseline.json',
    '--out',
    'out',
    ...extra,
  );

/** Worse templates a developer might plausibly commit. */
const WORSE = {
  // Drops the structured-output format and only asks for JSON in words.
  'extract-invoice':
    '---\nsystem: You extract invoice fields. Answer in JSON.\ntemperature: 0\n---\nExtract the invoice number, total, currency and due date from this email:\n{{email}}\n',
  // Caps the reply to save tokens, so replies are cut short.
  'support-reply':
    '---\nsystem: You are a support agent for Acme.\nmaxTokens: 8\n---\nCustomer {{customer}} bought a {{product}} and writes:\n{{question}}\n',
  // Caps the summary, so it no longer ends a sentence.
  summarize: '---\nmaxTokens: 4\n---\nSummarize briefly:\n{{thread}}\n',
};

describe('rel-eval run against the fake provider over HTTP', () => {
  it('passes the gate for the example golden set against its committed baseline and writes the reports', async () => {
    const { code, stdout, stderr } = await gate();
    expect(code).toBe(EXIT_CODES.ok);
    expect(stdout).toContain('extract-invoice (critical): 12/12 passed (100.0%)');
    expect(stdout).toContain('gate: PASS');
    expect(stderr).toContain('rel-eval run: 33/33 runs done\n');
    expect(stderr).not.toContain('\r');
    const results = JSON.parse(await readFile(join(dir, 'out/results.json'), 'utf8'));
    expect(results.gate.pass).toBe(true);
    expect(results.target).toBe(server.baseURL);
    expect(results.tasks.map((t: { name: string; passed: number }) => [t.name, t.passed])).toEqual([
      ['support-reply', 12],
      ['summarize', 6],
      ['extract-invoice', 12],
    ]);
    expect(await readFile(join(dir, 'out/report.md'), 'utf8')).toContain('**Gate: PASS**');
    expect(await readFile(join(dir, 'out/report.html'), 'utf8')).toContain('<svg ');
  });

  it('fails the gate with exit 2 naming the cases when a template drops the response format; the original passes again', async () => {
    const template = join(dir, 'templates/extract-invoice.txt');
    const original = await readFile(template, 'utf8');
    await writeFile(template, WORSE['extract-invoice']);
    const worse = await gate();
    expect(worse.code).toBe(EXIT_CODES.regression);
    expect(worse.stdout).toContain('gate: FAIL: 1 critical task(s) regressed');
    expect(worse.stdout).toMatch(
      /REGRESSED extract-invoice: 100\.0% -> 0\.0% .*cases: simple-eur .*, usd-with-tax .*, forwarded-chain .*, reminder /,
    );
    expect(await readFile(join(dir, 'out/report.md'), 'utf8')).toContain('**Gate: FAIL**');
    const results = JSON.parse(await readFile(join(dir, 'out/results.json'), 'utf8'));
    expect(results.tasks[2].cases[0].runs[0].failures[0]).toMatch(/^output is not JSON/);

    await writeFile(template, original);
    expect((await gate()).code).toBe(EXIT_CODES.ok);
  });

  it('fails the gate when a support-reply template cuts replies short', async () => {
    await writeFile(join(dir, 'templates/support-reply.txt'), WORSE['support-reply']);
    const { code, stdout } = await gate();
    expect(code).toBe(EXIT_CODES.regression);
    expect(stdout).toMatch(/REGRESSED support-reply: 100\.0% -> 0\.0%/);
    const results = JSON.parse(await readFile(join(dir, 'out/results.json'), 'utf8'));
    expect(results.tasks[0].cases[0].runs[0].failures).toContain(
      'assertions/complete-reply.mjs: reply cut short (finish reason length)',
    );
  });

  it('only warns when a non-critical task regresses', async () => {
    await writeFile(join(dir, 'templates/summarize.txt'), WORSE.summarize);
    const { code, stdout } = await gate();
    expect(code).toBe(EXIT_CODES.ok);
    expect(stdout).toContain('gate: PASS with 1 warning(s)');
    expect(stdout).toMatch(/warning summarize: 66\.7% -> 0\.0%/);
  });

  it('runs a module exporting a Handler as the target', async () => {
    const target = join(pkg, 'test/fixtures/fake-handler.ts');
    const { code, stdout } = await cli(
      'run',
      '--set',
      'golden.yaml',
      '--target',
      target,
      '--baseline',
      'baseline.json',
    );
    expect(code).toBe(EXIT_CODES.ok);
    expect(stdout).toContain('gate: PASS');
    expect(JSON.parse(await readFile(join(dir, 'rel-eval-results/results.json'), 'utf8')).repeat).toBe(1);
  });

  it('times out calls to a target that never answers after --timeout-ms, and exits 3', async () => {
    const hanging = await new FakeProvider().always('gpt-demo', { type: 'hang' }).listen();
    try {
      const args = ['--target', hanging.baseURL, '--timeout-ms', '150', '--concurrency', '11', '--out', 'out'];
      const { code, stderr } = await cli('run', '--set', 'golden.yaml', ...args);
      expect(code).toBe(EXIT_CODES.runFailed);
      expect(stderr).toMatch(/every call failed to reach the target: no answer within 150 ms/);
      const results = JSON.parse(await readFile(join(dir, 'out/results.json'), 'utf8'));
      const kinds = results.tasks.flatMap((t: { cases: Array<{ runs: Array<{ error: { kind: string } }> }> }) =>
        t.cases.flatMap((c) => c.runs.map((r) => r.error.kind)),
      );
      expect(new Set(kinds)).toEqual(new Set(['timeout']));
    } finally {
      await hanging.close();
    }
  });

  it('exits 3 when no call reaches the target', async () => {
    const { code, stderr } = await cli('run', '--set', 'golden.yaml', '--target', 'http://127.0.0.1:9/v1');
    expect(code).toBe(EXIT_CODES.runFailed);
    expect(stderr).toMatch(
      /every call failed to reach the target: cannot reach http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions/,
    );
  });
});

describe('rel-eval changed and baseline', () => {
  it('reports changed=false for the committed baseline, and changed=true naming an edited template', async () => {
    const same = await cli('changed', '--set', 'golden.yaml');
    expect([same.code, same.stdout]).toEqual([0, 'changed=false\n']);
    await writeFile(join(dir, 'templates/summarize.txt'), WORSE.summarize);
    const edited = await cli('changed', '--set', 'golden.yaml', '--baseline', 'baseline.json');
    expect([edited.code, edited.stdout]).toEqual([0, 'changed=true\n']);
    expect(edited.stderr).toBe('modified: templates/summarize.txt\n');
    await rm(join(dir, 'baseline.json'));
    const none = await cli('changed', '--set', 'golden.yaml');
    expect(none.stdout).toBe('changed=true\n');
    expect(none.stderr).toMatch(/no baseline/);
  });

  it('writes a new baseline deliberately, which then accepts the changed template', async () => {
    await writeFile(join(dir, 'templates/summarize.txt'), WORSE.summarize);
    const made = await cli('baseline', '--set', 'golden.yaml', '--target', server.baseURL, '--repeat', '3');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('baseline written: baseline.json');
    const baseline = JSON.parse(await readFile(join(dir, 'baseline.json'), 'utf8'));
    expect(baseline.tasks.summarize).toMatchObject({ passed: 0, failed: 9 });
    expect((await cli('changed', '--set', 'golden.yaml')).stdout).toBe('changed=false\n');
    const after = await gate();
    expect(after.stdout).toContain('gate: PASS\n');
  });

  it('writes no baseline when no call reaches the target', async () => {
    await rm(join(dir, 'baseline.json'));
    const { code, stderr } = await cli('baseline', '--set', 'golden.yaml', '--target', 'http://127.0.0.1:9/v1');
    expect(code).toBe(EXIT_CODES.runFailed);
    expect(stderr).toMatch(/no baseline written/);
    await expect(readFile(join(dir, 'baseline.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('writes a baseline from an earlier results.json without running again', async () => {
    expect((await gate('--out', 'prev')).code).toBe(0);
    const before = fake.attempts.length;
    const { code } = await cli('baseline', '--from', 'prev/results.json', '--out', 'b2.json');
    expect(code).toBe(0);
    expect(fake.attempts.length).toBe(before);
    const b2 = JSON.parse(await readFile(join(dir, 'b2.json'), 'utf8'));
    const committed = JSON.parse(await readFile(join(dir, 'baseline.json'), 'utf8'));
    expect(b2.tasks).toEqual(committed.tasks);
    expect(b2.fingerprint).toEqual(committed.fingerprint);
  });
});

describe('rel-eval usage', () => {
  it('prints help with the exit codes on --help and exits 0', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Exit codes:');
    expect(stdout).toContain('2  regression gate failed');
  });

  it('exits 1 with a clear message on bad arguments', async () => {
    expect(await cli()).toMatchObject({ code: 1 });
    expect(await cli('deploy')).toMatchObject({ code: 1, stderr: expect.stringMatching(/unknown command "deploy"/) });
    expect(await cli('run', '--set', 'golden.yaml')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--target is required/),
    });
    expect(await cli('run', '--set', 'golden.yaml', '--target', 'x', '--repeat', 'two')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--repeat must be a positive integer, got "two"/),
    });
    expect(await cli('run', '--set', 'golden.yaml', '--target', 'x', '--concurrency', '1000')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--concurrency must be at most 256, got 1000/),
    });
    expect(await cli('changed', '--set', 'golden.yaml', '--repeat', '2')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--repeat is not an option of changed/),
    });
    expect(await cli('run', '--sett', 'golden.yaml')).toMatchObject({ code: 1, stderr: expect.stringMatching(/sett/) });
    expect(
      await cli('run', '--set', 'golden.yaml', '--target', server.baseURL, '--baseline', 'nope.json'),
    ).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/nope\.json: no such baseline/),
    });
  });

  it('exits 1 naming the file, case and field of an invalid golden set', async () => {
    const golden = await readFile(join(dir, 'golden.yaml'), 'utf8');
    await writeFile(join(dir, 'golden.yaml'), golden.replace("pattern: '\\.$'", "pattern: '(['"));
    const { code, stderr } = await cli('run', '--set', 'golden.yaml', '--target', server.baseURL);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /golden\.yaml: task "summarize", case "long-thread": assert\[0\]\.pattern: is not a valid regular expression/,
    );
  });
});

describe('the rel-eval binary, run from source', () => {
  it('exits 2 on a regression and writes the reports', async () => {
    await writeFile(join(dir, 'templates/extract-invoice.txt'), WORSE['extract-invoice']);
    const args = ['--conditions=@rel/source', '--import', 'tsx', join(pkg, 'src/cli.ts')];
    const child = spawn(
      process.execPath,
      [
        ...args,
        'run',
        '--set',
        join(dir, 'golden.yaml'),
        '--target',
        server.baseURL,
        '--baseline',
        join(dir, 'baseline.json'),
        '--out',
        join(dir, 'out'),
      ],
      // From the package folder, where `--import tsx` resolves.
      { cwd: pkg, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stdout).toContain('REGRESSED extract-invoice');
    expect(code).toBe(2);
    expect(await readFile(join(dir, 'out/report.html'), 'utf8')).toContain('Gate: FAIL');
    // Starting node with tsx compiles the sources first: 5 s alone, three times that on a busy CI machine.
  }, 60_000);
});
