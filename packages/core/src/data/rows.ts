/**
 * Turns a raw row (Hub field names, whatever the reader) into an Example, with one error format
 * for every source: "<file>:<line>: field 'label': expected an integer in 0..1, got "x"".
 */
import { badField } from './errors.js';
import { isUnlabelledSplit, type TaskInfo } from './tasks.js';

/** One GLUE example: its text segment(s), label (class id, or score for stsb; -1 in test splits) and idx. */
export type Example = { texts: readonly string[]; label: number; idx: number };

/** Validates raw rows of one task and split; `where` names the file and line (or row). */
export type RowParser = (row: Readonly<Record<string, unknown>>, where: string, fallbackIdx: number) => Example;

// parquet INT64 columns (the Hub's ClassLabel) arrive as bigint
const asNumber = (value: unknown): unknown => (typeof value === 'bigint' ? Number(value) : value);

export function rowParser(task: TaskInfo, split: string): RowParser {
  const unlabelled = isUnlabelledSplit(split);
  const labelExpected = task.isRegression
    ? unlabelled
      ? 'a number (or -1 in a test split)'
      : 'a finite number'
    : `an integer in 0..${task.numLabels - 1}${unlabelled ? ' or -1' : ''}`;
  const labelOk = (v: unknown): v is number =>
    typeof v === 'number' &&
    (task.isRegression
      ? Number.isFinite(v)
      : Number.isInteger(v) && ((v >= 0 && v < task.numLabels) || (unlabelled && v === -1)));
  const fields = task.textFields;

  return (row, where, fallbackIdx) => {
    const texts = new Array<string>(fields.length);
    for (let f = 0; f < fields.length; f++) {
      const field = fields[f]!;
      const text = row[field];
      if (typeof text !== 'string') throw badField(where, field, 'a string', text);
      texts[f] = text;
    }
    const label = asNumber(row.label);
    if (!labelOk(label)) throw badField(where, 'label', labelExpected, row.label);
    let idx = fallbackIdx;
    if (row.idx !== undefined) {
      const value = asNumber(row.idx);
      if (typeof value !== 'number' || !Number.isInteger(value)) throw badField(where, 'idx', 'an integer', row.idx);
      idx = value;
    }
    return { texts, label, idx };
  };
}
