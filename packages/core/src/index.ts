// First: a second copy of core must stop before it loads its own TensorFlow.js.
import './single-copy.js';
export { DuplicateCoreError } from './single-copy.js';
export { tf } from './tf.js';
export * from './spec.js';
export * from './events.js';
export * from './rng.js';
export { compileSchema, formatAjvErrors, describeValue, EXPECTED_WORDING, type SchemaIssue, type IssuePath, type Wording } from './validation.js';
// What plugin authors and the CLI build on; core's machinery (trainer, model math, kernels, the
// pruning functions) is exported by './internal.ts' ('@gbp/core/internal'), and to plugins through
// PrunerContext.helpers.
export * from './hooks/types.js';
export * from './hooks/define.js';
export * from './hooks/resolve.js';
export * from './hooks/plugin-path.js';
export * from './hooks/installed.js';
export { PluginError } from './hooks/registry.js';
export { initBackend, backendInfo, explainBackendError, BackendMemoryError } from './backend/index.js';
export { MODEL_PRESETS, resolveModelConfig, modelInfo, type ModelConfig, type ModelInfo, type Gate, type GateGradients, type ModelInput } from './model/index.js';
export {
  InferenceModel,
  type PredictResult,
  isModelFolder,
  readCompactionReport,
  readModelFolder,
  writeModelFolder,
  flopsPerToken,
  MODEL_FILES,
  importHfFolder,
  readHfConfig,
  exportHfFolder,
  checkExportTarget,
  HF_DTYPES,
  locateModel,
  absoluteModelRef,
  ModelLoadError,
  loadModel,
  readModelConfig,
  parseHubRef,
  downloadHubModel,
  HubModelError,
  type HubModelErrorKind,
  type HfImport,
  type HfImportOptions,
  type HfDtype,
  type HfExportSource,
  type HfExportOptions,
  type HfExportResult,
  type LoadedModel,
  type LocatedModel,
  type LoadModelOptions,
  type ModelSourceKind,
  type HubModelOptions,
  type HubRef,
  type CompactionReport,
  type ModelFolderConfig,
  type ModelFolderContents,
  type NamedTensor,
} from './model/index.js';
export * from './data/index.js';
export { AbortError, readCheckpoint, latestCheckpoint, type BinaryArray } from './train/index.js';
export { THREADS_ENV, defaultThreads, resolveThreads, ReplicaError, type ThreadsChoice } from './parallel/index.js';
export {
  SCHEDULE_KINDS,
  DEFAULT_SPARSITY_STEPS,
  type ScheduleKind,
  type ScheduleClock,
  type PruningWindow,
  type TopKOptions,
  type TopKScope,
  type ThresholdOptions,
  type Granularity,
  type GateLayout,
  type SparsityReportOptions,
  type PrunerHelpers,
} from './pruning/index.js';
export * from './results/index.js';
export { writeFileAtomic, writeJsonAtomic, openAtomicFile, FileWriteError, type AtomicFile } from './fs-atomic.js';
export { writeFolderAtomic } from './fs-atomic.js';
export { processExists } from './process-alive.js';
export * from './job.js';
