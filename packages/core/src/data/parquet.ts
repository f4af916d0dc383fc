/** Parquet files as the Hub exports `glue`: <dir>/<task>/<split>-00000-of-00001.parquet, read with hyparquet. */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { DataError } from './errors.js';
import { rowParser, type Example } from './rows.js';
import { notUtf8Message } from './utf8.js';
import type { TaskInfo } from './tasks.js';

/** The Hub's file name of a split (single shard: every GLUE split fits one file). */
export const parquetFileName = (split: string): string => `${split}-00000-of-00001.parquet`;

/** A text cell whose bytes are not UTF-8, kept as bytes so that the error can name its row and field. */
class InvalidUtf8 {
  constructor(readonly bytes: Uint8Array) {}
}

// hyparquet's own decoder replaces bad bytes with U+FFFD silently
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const stringFromBytes = (bytes: Uint8Array | undefined): string | InvalidUtf8 | undefined => {
  if (!bytes) return bytes;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return new InvalidUtf8(bytes);
  }
};

/** Reads up to `limit` rows (only the row groups that hold them); errors name the 0-based row. */
export async function readParquet(file: string, task: TaskInfo, split: string, limit = Infinity): Promise<Example[]> {
  const buffer = await asyncBufferFromFile(file);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw new DataError(`${file}: not a readable parquet file (${(error as Error).message})`, { cause: error });
  }
  const present = parquetSchema(metadata).children.map((c) => c.element.name);
  const required = [...task.textFields, 'label'];
  for (const column of required) {
    if (!present.includes(column)) {
      throw new DataError(`${file}: missing column '${column}' for ${task.name} (the file has: ${present.join(', ')})`);
    }
  }
  const columns = present.includes('idx') ? [...required, 'idx'] : required;
  const rowEnd = Math.min(Number(metadata.num_rows), limit);
  if (rowEnd <= 0) return [];
  const rows = await parquetReadObjects({ file: buffer, metadata, columns, rowStart: 0, rowEnd, parsers: { stringFromBytes: stringFromBytes as (bytes: Uint8Array) => string } });
  const parse = rowParser(task, split);
  return rows.map((row, i) => {
    for (const field of task.textFields) {
      const value: unknown = row[field];
      if (value instanceof InvalidUtf8) throw new DataError(`${file}: row ${i}: field '${field}': ${notUtf8Message(value.bytes, 'text')}`);
    }
    return parse(row, `${file}: row ${i}`, i);
  });
}
