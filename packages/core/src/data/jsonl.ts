/** JSON Lines in the Hub's field names: <dir>/<task>/<split>.jsonl (the layout of ../shared/data/glue). */
import { DataError, describeValue } from './errors.js';
import { readLineExamples, type LineToRow, type ReadLinesOptions } from './lines.js';
import type { Example } from './rows.js';
import type { TaskInfo } from './tasks.js';

const jsonRow: LineToRow = (text, where) => {
  if (text.length === 0 || text.trim().length === 0) return null;
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${where}: invalid JSON (${(error as Error).message})`);
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new DataError(`${where}: expected a JSON object per line, got ${describeValue(row)}`);
  }
  return row as Record<string, unknown>;
};

/** Reads up to `limit` examples; stops reading the file as soon as it has them. */
export async function readJsonl(file: string, task: TaskInfo, split: string, limit = Infinity, options: ReadLinesOptions = {}): Promise<Example[]> {
  return readLineExamples(file, task, split, limit, jsonRow, options);
}
