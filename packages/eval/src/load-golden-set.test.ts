import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RelError } from '@rel/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadGoldenSet } from './load-golden-set';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rel-eval-load-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(map: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(map)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return join(dir, 'golden.yaml');
}

const head = 'version: 1\nmodel: m\n';
const oneCase = (body: string) => `${head}tasks:\n  - name: t\n    critical: true\n    cases:\n      - id: c\n${body}`;

async function loadError(set: string): Promise<string> {
  const error = await loadGoldenSet(set).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(RelError.is(error)).toBe(true);
  expect((error as RelError).failure.kind).toBe('invalid_request');
  return (error as Error).message.replaceAll(`${dir}/`, '');
}

describe('loadGoldenSet', () => {
  it('loads the example set: templates rendered with front matter, schema files, prices and every asset', async () => {
    const file = join(import.meta.dirname, '../examples/golden.yaml');
    const set = await loadGoldenSet(file);
    expect(set.name).toBe('demo');
    expect(set.tasks.map((t) => [t.name, t.critical, t.threshold, t.alpha, t.cases.length])).toEqual([
      ['support-reply', true, 0.1, 0.05, 4],
      ['summarize', false, 0.1, 0.05, 3],
      ['extract-invoice', true, 0.1, 0.05, 4],
    ]);
    const reply = set.tasks[0]?.cases[0];
    expect(reply?.template).toBe('templates/support-reply.txt');
    expect(reply?.request.messages).toEqual([
      {
        role: 'system',
        content: 'You are a friendly support agent for Acme. Answer in two or three complete sentences.',
      },
      {
        role: 'user',
        content:
          'Customer Ada bought a desk lamp and writes:\nMy order is two weeks late. Can I get a refund?\nReply to Ada.',
      },
    ]);
    expect(reply?.request.temperature).toBe(0);
    expect(reply?.assertions.map((a) => a.label)).toEqual([
      'matches /^[A-Z]/',
      'custom assertions/complete-reply.mjs',
      'cost <= 0.0001 USD',
      'latency <= 10000 ms',
    ]);
    const invoice = set.tasks[2]?.cases[0]?.request.responseFormat;
    expect(invoice?.type === 'json_schema' && invoice.name).toBe('invoice');
    expect(invoice?.type === 'json_schema' && (invoice.schema.required as string[]).includes('due_date')).toBe(true);
    expect(set.tasks[1]?.cases[2]?.template).toBeUndefined();
    expect([...set.assets.keys()].sort()).toEqual([
      'assertions/complete-reply.mjs',
      'golden.yaml',
      'schemas/invoice.json',
      'templates/extract-invoice.txt',
      'templates/summarize.txt',
      'templates/support-reply.txt',
    ]);
    expect(set.prices['gpt-demo']).toEqual({ input: 0.15, output: 0.6 });
  });

  it('lets the most specific request option win: case over template over task over set', async () => {
    const set = await loadGoldenSet(
      await files({
        'golden.yaml': `${head}request: { maxTokens: 10, temperature: 1, headers: { x-a: set, x-b: set } }
tasks:
  - name: t
    critical: false
    threshold: 0.3
    template: p.txt
    request: { maxTokens: 20, model: task-model }
    cases:
      - { id: a, vars: { v: 1 }, assert: [{ type: contains, value: x }] }
      - { id: b, vars: { v: 2 }, request: { maxTokens: 40, headers: { x-b: case } }, assert: [{ type: contains, value: x }] }
`,
        'p.txt': '---\nmaxTokens: 30\nheaders: { x-c: template }\n---\nv={{v}}\n',
      }),
    );
    const [a, b] = set.tasks[0]?.cases ?? [];
    expect(set.tasks[0]?.threshold).toBe(0.3);
    expect(a?.request).toMatchObject({ model: 'task-model', maxTokens: 30, temperature: 1 });
    expect(a?.request.messages).toEqual([{ role: 'user', content: 'v=1' }]);
    expect(b?.request).toMatchObject({ maxTokens: 40, metadata: { 'x-a': 'set', 'x-b': 'case', 'x-c': 'template' } });
  });

  it('names the file, task, case and field of an invalid regular expression', async () => {
    const set = await files({
      'golden.yaml': oneCase(
        "        messages: [{ role: user, content: hi }]\n        assert: [{ type: contains, value: a }, { type: regex, pattern: '(' }]\n",
      ),
    });
    expect(await loadError(set)).toBe(
      'golden.yaml: task "t", case "c": assert[1].pattern: is not a valid regular expression',
    );
  });

  it('names an unknown field', async () => {
    const set = await files({
      'golden.yaml': oneCase('        messages: [{ role: user, content: hi }]\n        asert: []\n'),
    });
    expect(await loadError(set)).toMatch(/^golden\.yaml: task "t", case "c": asert: Unrecognized key/);
  });

  it('names the case and the variable a template needs but the case lacks', async () => {
    const set = await files({
      'golden.yaml': oneCase(
        '        template: tpl/a.txt\n        vars: { name: Ada }\n        assert: [{ type: contains, value: a }]\n',
      ),
      'tpl/a.txt': 'Hi {{name}}, about {{topic}} and {{ mood }}',
    });
    expect(await loadError(set)).toBe(
      'golden.yaml: task "t", case "c": vars: template tpl/a.txt uses {{topic}}, {{mood}} but the case gives no value',
    );
  });

  it('names the case whose template file is missing', async () => {
    const set = await files({
      'golden.yaml': oneCase('        template: nope.txt\n        assert: [{ type: contains, value: a }]\n'),
    });
    expect(await loadError(set)).toBe(
      'golden.yaml: task "t", case "c": template: cannot read template nope.txt: ENOENT',
    );
  });

  it('names the template file and field of bad front matter', async () => {
    const set = await files({
      'golden.yaml': oneCase('        template: a.txt\n        assert: [{ type: contains, value: a }]\n'),
      'a.txt': '---\nmaxTokens: -3\n---\nhi',
    });
    expect(await loadError(set)).toMatch(/^a\.txt: front matter: maxTokens: Too small/);
  });

  it('reports invalid YAML with its line and column', async () => {
    const set = await files({ 'golden.yaml': `${head}tasks:\n  - name: t\n   critical: true\n` });
    expect(await loadError(set)).toMatch(/^golden\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('refuses a maxCostUsd check without a price for the model', async () => {
    const set = await files({
      'golden.yaml': oneCase(
        '        messages: [{ role: user, content: hi }]\n        assert: [{ type: maxCostUsd, value: 0.1 }]\n',
      ),
    });
    expect(await loadError(set)).toBe(
      'golden.yaml: task "t", case "c": assert[0]: maxCostUsd needs a price for model "m" under prices',
    );
  });

  it('refuses a custom assertion module that exports no assert function', async () => {
    const set = await files({
      'golden.yaml': oneCase(
        '        messages: [{ role: user, content: hi }]\n        assert: [{ type: custom, module: check.mjs }]\n',
      ),
      'check.mjs': 'export const check = () => true;\n',
    });
    expect(await loadError(set)).toBe(
      'golden.yaml: task "t", case "c": assert[0].module: check.mjs does not export a function named assert',
    );
  });

  it('refuses duplicate case ids, and a case with neither messages nor template', async () => {
    const dup = await files({
      'golden.yaml': `${head}tasks:\n  - name: t\n    critical: true\n    cases:\n      - { id: c, messages: [{ role: user, content: a }], assert: [{ type: contains, value: a }] }\n      - { id: c, messages: [{ role: user, content: b }], assert: [{ type: contains, value: a }] }\n`,
    });
    expect(await loadError(dup)).toBe('golden.yaml: task "t", case "c": id: duplicate case id c');
    const none = await files({ 'golden.yaml': oneCase('        assert: [{ type: contains, value: a }]\n') });
    expect(await loadError(none)).toMatch(/case "c": messages: give messages, or a template on the case or its task/);
  });

  it('names a missing golden set file', async () => {
    const missing = join(dir, 'absent.yaml');
    expect(await loadError(missing)).toBe('absent.yaml: cannot read absent.yaml: ENOENT');
  });
});
