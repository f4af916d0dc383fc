/** Shared test helpers: where the shared fixtures are, and a vocab.txt on disk for core's tokenizer. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { glueDataDir } from '@gbp/core/testing';
import { afterAll } from 'vitest';

export const GLUE_DIR = glueDataDir() ?? join(import.meta.dirname, '../../../../shared/data/glue');

/**
 * One temp folder per test file for what the tests write, removed after the file's tests (a failing
 * test leaves nothing behind). Made when the file is collected: vitest takes hooks only then.
 */
const tempRoot = mkdtempSync(join(tmpdir(), 'gbp-runtime-tests-'));
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }));
export const testTempDir = (prefix: string): string => mkdtempSync(join(tempRoot, prefix));

/** Rows of a GLUE jsonl split, or undefined when the file is absent. */
export function readJsonl(task: string, split: string): Record<string, unknown>[] | undefined {
  const file = join(GLUE_DIR, task, `${split}.jsonl`);
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Writes `tokens` as a vocab.txt in a fresh temp folder and returns its path. */
export function writeVocab(tokens: readonly string[]): string {
  const path = join(testTempDir('vocab-'), 'vocab.txt');
  writeFileSync(path, `${tokens.join('\n')}\n`);
  return path;
}
