#!/usr/bin/env node
// The `gbp` command as npm links it. Committed (git mode 100755) rather than pointing `bin` at
// dist/bin.js: npm links bins at install time, before any build, and tsc writes dist/ as 0644.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write(`gbp: ${entry} is missing: build the CLI first (npm run build at the repository root, or npx nx run @gbp/cli:build)\n`);
  process.exit(2);
}
await import(pathToFileURL(entry).href);
