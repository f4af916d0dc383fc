// Runs the replica from its TypeScript source (tests under vitest): tsx compiles it in this thread.
// Published packages use the compiled replica-worker.js instead.
import { tsImport } from 'tsx/esm/api';

await tsImport('./replica-worker.ts', import.meta.url);
