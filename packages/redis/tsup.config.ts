import { defineConfig } from 'tsup';
import { relPackageBuild } from '../../tsup.shared.ts';

export default defineConfig(relPackageBuild(['src/index.ts', 'src/testing/index.ts', 'src/scripts.ts']));
