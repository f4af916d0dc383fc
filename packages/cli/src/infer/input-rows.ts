/**
 * `gbp infer`'s input rows: JSONL objects whose text is in GLUE's field names (or text/text_pair),
 * with an optional gold `label`. A bad row is an error naming its line; the caller reports it and
 * goes on with the others.
 */
import { badField, DataError } from '@gbp/core';

/** Where a row's text segments are, tried in this order; a pair's second field is required unless `optional`. */
export const TEXT_FIELDS: readonly { readonly first: string; readonly second?: string; readonly optional?: true }[] = [
  { first: 'text', second: 'text_pair', optional: true },
  { first: 'sentence1', second: 'sentence2' }, // mrpc, rte, wnli, stsb
  { first: 'question', second: 'sentence' }, // qnli
  { first: 'premise', second: 'hypothesis' }, // mnli
  { first: 'question1', second: 'question2' }, // qqp
  { first: 'sentence' }, // sst2, cola
];

const FIELD_LIST = 'text (with optional text_pair), sentence1+sentence2, question+sentence, premise+hypothesis, question1+question2 or sentence';

/** What labels look like for the model: class ids below numLabels, or any finite score (numLabels 1). */
export interface LabelKind {
  numLabels: number;
}

export interface InferRow {
  /** 1-based line of the input (1 for --text). */
  line: number;
  /** The input object as read: echoed in the output. */
  fields: Readonly<Record<string, unknown>>;
  /** One segment or a pair. */
  texts: readonly string[];
  /** The gold label when the row has one (a class id or a score); -1 (GLUE's unlabelled test rows) counts as none. */
  label?: number;
}

/** The text segments of a row: the first field set of TEXT_FIELDS the row has. */
export function rowTexts(fields: Readonly<Record<string, unknown>>, where: string): string[] {
  for (const { first, second, optional } of TEXT_FIELDS) {
    if (!Object.hasOwn(fields, first)) continue;
    const a = fields[first];
    if (typeof a !== 'string') throw badField(where, first, 'a string', a);
    if (second === undefined) return [a];
    const b = fields[second];
    if (b === undefined && optional) return [a];
    if (typeof b !== 'string') throw badField(where, second, `a string (the second segment after '${first}')`, b);
    return [a, b];
  }
  throw new DataError(`${where}: no text field; expected ${FIELD_LIST}`);
}

/** The row's gold label, checked against the model's outputs; undefined when it has none. */
export function rowLabel(fields: Readonly<Record<string, unknown>>, where: string, kind: LabelKind): number | undefined {
  const label = fields.label;
  if (label === undefined || label === null || label === -1) return undefined;
  if (kind.numLabels === 1) {
    if (typeof label !== 'number' || !Number.isFinite(label)) throw badField(where, 'label', 'a finite number (the model predicts a score)', label);
  } else if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= kind.numLabels) {
    throw badField(where, 'label', `a class id, an integer in 0..${kind.numLabels - 1} (or -1 for none)`, label);
  }
  return label;
}

/** One JSONL line as a row; throws a DataError naming `where` (file:line) for anything else. */
export function parseInferLine(text: string, where: string, line: number, kind: LabelKind): InferRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataError(`${where}: expected a JSON object with a text field, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  const fields = value as Record<string, unknown>;
  const texts = rowTexts(fields, where);
  const label = rowLabel(fields, where, kind);
  return { line, fields, texts, ...(label !== undefined && { label }) };
}

/** A line that could not be read as a row. */
export interface BadRow {
  line: number;
  message: string;
}

/**
 * Every non-blank line of `lines` as a row, or as a bad row with its message; `file` names the
 * input in messages ("data.jsonl:3: field 'sentence': expected a string, got 5").
 */
export async function readInferRows(lines: AsyncIterable<string>, file: string, kind: LabelKind): Promise<{ rows: InferRow[]; bad: BadRow[] }> {
  const rows: InferRow[] = [];
  const bad: BadRow[] = [];
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    try {
      rows.push(parseInferLine(text, `${file}:${line}`, line, kind));
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      bad.push({ line, message: error.message });
    }
  }
  return { rows, bad };
}
