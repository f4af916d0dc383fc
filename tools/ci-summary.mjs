#!/usr/bin/env node
// Sums every project's vitest JSON report ({projectRoot}/.vitest-report.json, an nx output of the
// test target, so a cached run restores it) into one closing line: "N passed, N failed, N skipped".
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const graph = JSON.parse(execFileSync(join(root, 'node_modules', '.bin', 'nx'), ['show', 'projects', '--with-target', 'test', '--json'], { cwd: root, encoding: 'utf8' }));
let passed = 0, failed = 0, skipped = 0;
const missing = [];
for (const project of graph) {
  const config = JSON.parse(execFileSync(join(root, 'node_modules', '.bin', 'nx'), ['show', 'project', project, '--json'], { cwd: root, encoding: 'utf8' }));
  const file = join(root, config.root, '.vitest-report.json');
  if (!existsSync(file)) {
    missing.push(project);
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
if (missing.length > 0) console.error(`ci-summary: no test report for ${missing.join(', ')}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || missing.length > 0 ? 1 : 0);
