import { defineConfig, mergeConfig } from 'vitest/config';
import { relTestConfig } from '../../vitest.shared.ts';

// The OTLP exporters' `module` builds use extensionless ESM imports that Node cannot load; resolve
// packages through `main` (their CommonJS build) as Node itself does.
export default defineConfig(
  mergeConfig(relTestConfig, {
    resolve: { mainFields: ['main'] },
    ssr: { resolve: { mainFields: ['main'] } },
    test: { testTimeout: 30_000 },
  }),
);
