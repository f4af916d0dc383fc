import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// Type tests (*.test-d.ts: the hook map, definePruner) run with the suite, through tsc.
export default mergeConfig(shared, defineConfig({ test: { typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' } } }));
