/** Shared test helpers: where the shared fixtures are, and a vocab.txt on disk for core's tokenizer. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GLUE_DIR = process.env.GBP_DATA_DIR || join(import.meta.dirname, '../../../../shared/data/glue');

/** Rows of a GLUE jsonl split, or undefined when the file is absent. */
export function readJsonl(task: string, split: string): Record<string, unknown>[] | undefined {
  const file = join(GLUE_DIR, task, `${split}.jsonl`);
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Writes `tokens` as a vocab.txt in a fresh temp folder and returns its path. */
export function writeVocab(tokens: readonly string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'gbp-runtime-vocab-')), 'vocab.txt');
  writeFileSync(path, `${tokens.join('\n')}\n`);
  return path;
}
