import { defineConfig } from 'vitest/config';
import { relTestConfig } from '../../vitest.shared.ts';

export default defineConfig(relTestConfig);
