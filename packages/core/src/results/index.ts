// Public API of the results module: the run directory writer.
export {
  RunWriter,
  fileTimestamp,
  existingTimestamp,
  safeName,
  epochsToCsv,
  csvCell,
  CSV_BASE_COLUMNS,
  type RunMetadata,
  type RunStatus,
} from './writer.js';
