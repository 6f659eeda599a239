#!/usr/bin/env node
// Creates a package skeleton: `node scripts/new-package.mjs <dir> <@rel/name> "<description>" [--testing]`.
// See README "Adding a package".
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir, name, description = '', ...flags] = process.argv.slice(2);
if (!dir || !name) {
  console.error('usage: node scripts/new-package.mjs <dir> <@rel/name> "<description>" [--testing]');
  process.exit(2);
}
const withTesting = flags.includes('--testing');
if (existsSync(join(dir, 'package.json'))) {
  console.error(`${dir}/package.json exists`);
  process.exit(2);
}
const depth = dir.split('/').filter(Boolean).length;
const up = '../'.repeat(depth);
const entry = (src, out) => ({
  '@rel/source': `./src/${src}.ts`,
  import: { types: `./dist/${out}.d.ts`, default: `./dist/${out}.js` },
  require: { types: `./dist/${out}.d.cts`, default: `./dist/${out}.cjs` },
});
const exportsMap = { '.': entry('index', 'index') };
if (withTesting) exportsMap['./testing'] = entry('testing/index', 'testing/index');
exportsMap['./package.json'] = './package.json';
const pkg = {
  name,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20.19' },
  exports: exportsMap,
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  files: ['dist', 'src', '!src/**/*.test.ts'],
  scripts: {
    build: 'tsup',
    typecheck: 'tsc -p tsconfig.json',
    lint: 'publint --strict && attw --pack . --profile node16',
    test: 'vitest run --reporter=default --reporter=json --outputFile.json=.vitest-result.json',
  },
  dependencies: {},
  devDependencies: {},
};
mkdirSync(join(dir, 'src'), { recursive: true });
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  join(dir, 'tsconfig.json'),
  `${JSON.stringify({ extends: `${up}tsconfig.base.json`, include: ['src', 'test', '*.ts'] }, null, 2)}\n`,
);
const entries = withTesting ? "['src/index.ts', 'src/testing/index.ts']" : "['src/index.ts']";
writeFileSync(
  join(dir, 'tsup.config.ts'),
  `import { defineConfig } from 'tsup';\nimport { relPackageBuild } from '${up}tsup.shared.ts';\n\nexport default defineConfig(relPackageBuild(${entries}));\n`,
);
writeFileSync(
  join(dir, 'vitest.config.ts'),
  `import { defineConfig } from 'vitest/config';\nimport { relTestConfig } from '${up}vitest.shared.ts';\n\nexport default defineConfig(relTestConfig);\n`,
);
console.log(`created ${name} in ${dir}`);
