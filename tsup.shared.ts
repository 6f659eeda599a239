import type { Options } from 'tsup';

/**
 * The build of every published rel package: ESM + CJS + `.d.ts` for Node 20, with source maps,
 * one output per entry (`src/index.ts` -> `dist/index.{js,cjs,d.ts,d.cts}`). Each package's
 * `tsup.config.ts` is one line: `export default defineConfig(relPackageBuild(['src/index.ts']))`.
 * @param entry the entry files, relative to the package folder.
 * @param overrides options that differ for this package (merged over the defaults).
 */
export function relPackageBuild(entry: readonly string[], overrides: Options = {}): Options {
  return {
    entry: [...entry],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    ...overrides,
  };
}
