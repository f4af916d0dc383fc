/**
 * The original GLUE TSV folders (as download_glue_data.py leaves them): <dir>/SST-2/train.tsv,
 * <dir>/MNLI/dev_matched.tsv, ... Columns are picked by position, as the reference GLUE processors
 * (and the Hub's conversion) do, because some files (STS-B, MNLI) have rows with extra tabs; the
 * label is then the last column. No quote handling: GLUE's TSVs are read with QUOTE_NONE.
 */
import { join } from 'node:path';
import type { TaskName } from '../spec.js';
import { DataError, badField } from './errors.js';
import { readLineExamples, type ReadLinesOptions } from './lines.js';
import type { Example } from './rows.js';
import type { TaskInfo } from './tasks.js';

interface TsvFormat {
  /** The folder name GLUE uses. */
  folder: string;
  header: boolean;
  minColumns: number;
  /** Column of each of the task's text fields. */
  textColumns: readonly number[];
  /** Column of the label; -1 = the last one. */
  labelColumn: number;
  /** int / float as written, or a label name to map to the Hub's id. */
  label: 'int' | 'float' | 'name';
}

const TSV_FORMATS: Readonly<Record<TaskName, TsvFormat>> = {
  // CoLA: no header; source, label, original label, sentence
  cola: { folder: 'CoLA', header: false, minColumns: 4, textColumns: [3], labelColumn: 1, label: 'int' },
  sst2: { folder: 'SST-2', header: true, minColumns: 2, textColumns: [0], labelColumn: 1, label: 'int' },
  // MRPC: Quality, #1 ID, #2 ID, #1 String, #2 String
  mrpc: { folder: 'MRPC', header: true, minColumns: 5, textColumns: [3, 4], labelColumn: 0, label: 'int' },
  // STS-B: index genre filename year old_index source1 source2 sentence1 sentence2 score
  stsb: { folder: 'STS-B', header: true, minColumns: 10, textColumns: [7, 8], labelColumn: -1, label: 'float' },
  rte: { folder: 'RTE', header: true, minColumns: 4, textColumns: [1, 2], labelColumn: -1, label: 'name' },
  wnli: { folder: 'WNLI', header: true, minColumns: 4, textColumns: [1, 2], labelColumn: -1, label: 'int' },
  qnli: { folder: 'QNLI', header: true, minColumns: 4, textColumns: [1, 2], labelColumn: -1, label: 'name' },
  // MNLI: index promptID pairID genre 4 parses, sentence1 sentence2, label1 (..label5) gold_label
  mnli: { folder: 'MNLI', header: true, minColumns: 11, textColumns: [8, 9], labelColumn: -1, label: 'name' },
};

/** The TSV file GLUE has for a Hub split (validation -> dev), or undefined (test files have no labels). */
export function tsvPath(dir: string, task: TaskName, split: string): string | undefined {
  if (split !== 'train' && !split.startsWith('validation')) return undefined;
  return join(dir, TSV_FORMATS[task].folder, `${split.replace('validation', 'dev')}.tsv`);
}

export async function readTsv(file: string, task: TaskInfo, split: string, limit = Infinity, options: ReadLinesOptions = {}): Promise<Example[]> {
  const format = TSV_FORMATS[task.name];
  return readLineExamples(file, task, split, limit, (text, where, line, index) => {
    if ((line === 1 && format.header) || text.length === 0) return null;
    const columns = text.split('\t');
    if (columns.length < format.minColumns) {
      throw new DataError(
        `${where}: expected at least ${format.minColumns} tab-separated columns (GLUE ${format.folder} format), got ${columns.length}`,
      );
    }
    const row: Record<string, unknown> = { idx: index };
    task.textFields.forEach((field, f) => (row[field] = columns[format.textColumns[f]!]));
    row.label = tsvLabel(task, format, columns.at(format.labelColumn)!, where);
    return row;
  }, options);
}

function tsvLabel(task: TaskInfo, format: TsvFormat, text: string, where: string): unknown {
  switch (format.label) {
    case 'int':
      return /^-?\d+$/.test(text.trim()) ? Number.parseInt(text, 10) : text;
    case 'float': {
      const value = text.trim() === '' ? Number.NaN : Number(text);
      return Number.isFinite(value) ? value : text;
    }
    case 'name': {
      const id = task.labelNames.indexOf(text.trim());
      if (id < 0) throw badField(where, 'label', `one of ${task.labelNames.join(', ')}`, text);
      return id;
    }
  }
}
