// Public API of the data module: GLUE tasks and metrics, readers, tokenizer, batching.
export { TASKS, getTask, taskSplits, type TaskInfo } from './tasks.js';
export { computeMetrics } from './metrics.js';
export type { Example } from './rows.js';
export { loadSplit, localCandidates, type LoadSplitOptions } from './load.js';
export { DataError, badField } from './errors.js';
export { readLines, DEFAULT_MAX_LINE_BYTES, type ReadLinesOptions } from './lines.js';
export { defaultCacheDir } from './cache.js';
export {
  loadTokenizer,
  tokenizerFromFile,
  SPECIAL_TOKENS,
  type EncodedInput,
  type GbpTokenizer,
  type LoadTokenizerOptions,
  type WordPieceTokenizer,
} from './tokenizer.js';
export { makeBatches, sliceBatch, sliceInput, type Batch, type BatchInput, type EncodedExample, type MakeBatchesOptions } from './batching.js';
