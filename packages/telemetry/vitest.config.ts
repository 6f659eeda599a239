import { defineConfig } from 'vitest/config';
import { relTestConfig } from '../../vitest.shared.ts';

/**
 * The shared settings, minus the `module` export condition: with it, `@opentelemetry/api` and the
 * SDK resolve to their `build/esm` files, whose extensionless imports Node cannot load once vitest
 * externalizes them. Without it they resolve to their CommonJS builds, as in production on Node.
 */
const conditions = ['@rel/source', 'node', 'import', 'default'];

export default defineConfig({
  ...relTestConfig,
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@rel/source'] } },
});
