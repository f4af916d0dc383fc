/** JSON Lines in the Hub's field names: <dir>/<task>/<split>.jsonl (the layout of ../shared/data/glue). */
import { DataError, describeValue } from './errors.js';
import { readLines } from './lines.js';
import { rowParser, type Example } from './rows.js';
import type { TaskInfo } from './tasks.js';

/** Reads up to `limit` examples; stops reading the file as soon as it has them. */
export async function readJsonl(file: string, task: TaskInfo, split: string, limit = Infinity): Promise<Example[]> {
  const parse = rowParser(task, split);
  const examples: Example[] = [];
  if (limit <= 0) return examples;
  let line = 0;
  for await (const text of readLines(file)) {
    line++;
    if (text.length === 0 || text.trim().length === 0) continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (error) {
      throw new DataError(`${file}:${line}: invalid JSON (${(error as Error).message})`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new DataError(`${file}:${line}: expected a JSON object per line, got ${describeValue(row)}`);
    }
    examples.push(parse(row as Record<string, unknown>, `${file}:${line}`, examples.length));
    if (examples.length >= limit) break;
  }
  return examples;
}
