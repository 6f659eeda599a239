import type { ViteUserConfig } from 'vitest/config';

/**
 * Shared vitest settings. Workspace packages resolve to their TypeScript sources through the
 * `@rel/source` export condition, so tests never depend on a stale `dist/`. The `module`
 * condition is left out on purpose: with it, `@opentelemetry/*` resolve to their `build/esm`
 * files, whose extensionless imports Node cannot load once vitest externalizes them.
 */
const conditions = ['@rel/source', 'node', 'import', 'default'];

export const relTestConfig: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@rel/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
};
