/** Parquet files as the Hub exports `glue`: <dir>/<task>/<split>-00000-of-00001.parquet, read with hyparquet. */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { DataError } from './errors.js';
import { rowParser, type Example } from './rows.js';
import type { TaskInfo } from './tasks.js';

/** The Hub's file name of a split (single shard: every GLUE split fits one file). */
export const parquetFileName = (split: string): string => `${split}-00000-of-00001.parquet`;

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
  const rows = await parquetReadObjects({ file: buffer, metadata, columns, rowStart: 0, rowEnd });
  const parse = rowParser(task, split);
  return rows.map((row, i) => parse(row, `${file}: row ${i}`, i));
}
