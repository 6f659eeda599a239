import { defineConfig } from 'tsup';
import { relPackageBuild } from '../../tsup.shared.ts';

export default defineConfig([
  relPackageBuild(['src/index.ts']),
  // The `rel-eval` binary: ESM only, with a shebang; `clean` is off so it keeps the library's files.
  relPackageBuild(['src/cli.ts'], { format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } }),
]);
