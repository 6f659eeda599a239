// Node module hooks that run rel's TypeScript sources as the built packages run: esbuild strips the
// types with keepNames OFF. (tsx forces keepNames on, which wraps every function and closure that is
// created in a `__name(fn, "name")` call — a defineProperty per closure, up to 15% of a hot path
// such as MemoryStore.acquire, that the published dist/ files do not pay.)
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TS = /\.(ts|mts|cts)$/;

function isFile(path) {
  return existsSync(path) && statSync(path).isFile();
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && TS.test(parent) && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const base = new URL(specifier, parent);
    const path = fileURLToPath(base);
    if (!isFile(path)) {
      for (const candidate of [`${path}.ts`, `${path}/index.ts`, path.replace(/\.js$/, '.ts')]) {
        if (isFile(candidate)) return next(new URL(`file://${candidate}`).href, context);
      }
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!TS.test(new URL(url).pathname)) return next(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, 'utf8');
  const out = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcefile: path,
    sourcemap: 'inline',
    keepNames: false,
  });
  return { format: 'module', source: out.code, shortCircuit: true };
}
