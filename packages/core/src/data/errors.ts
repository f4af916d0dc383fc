/** Errors of the data module and the messages they carry, kept together so their wording stays uniform. */

/** A data problem the user can fix (bad row, missing files, unusable tokenizer): no stack needed. */
export class DataError extends Error {
  readonly code = 'DATA_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataError';
  }
}

/** A value as it appears in an error message: strings quoted and shortened, missing said plainly. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (typeof value === 'bigint') return String(value);
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** "<where>: field '<field>': expected <expected>, got <value>" */
export function badField(where: string, field: string, expected: string, value: unknown): DataError {
  return new DataError(`${where}: field '${field}': expected ${expected}, got ${describeValue(value)}`);
}

/** How to point gbp at local data; appended to every "data not found" error. */
export const LOCAL_DATA_HINT =
  'Point gbp at a local copy of GLUE with --data-dir <dir>, the GBP_DATA_DIR environment variable, ' +
  "or data.dir in the pipeline file. <dir> may hold <task>/<split>.jsonl (Hub field names), the original " +
  'GLUE TSV folders (SST-2/train.tsv, ...) or the Hub parquet files (<task>/<split>-00000-of-00001.parquet).';
