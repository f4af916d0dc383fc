// Public API of the model module.
export {
  MODEL_PRESETS,
  resolveModelConfig,
  modelInfo,
  parameterSpecs,
  layerGates,
  type ModelConfig,
  type ModelInfo,
  type ParamSpec,
  type ParamKind,
} from './config.js';
export type { Gate, GateGradients } from './gate.js';
export { GatedDense } from './gated_dense.js';
export { GatedBert, forward, forwardOutputs, lossAndGradients, gelu, type ModelInput, type ParamLookup, type ForwardOptions, type ForwardOutputs, type InitMode } from './encoder.js';
export { autoEvalBatchSize, autoMicroBatchSize, evalBatchBytes, trainingMemory, trainingStepBytes, TrainingMemoryError, WASM_HEAP_BYTES, type TrainingMemory, type StepKind } from './memory.js';
export { headSize, layerHeads, layerDff, validateLayerWidths, IMPORTED_SIZE } from './config.js';
export { readHfConfig, parseHfConfig, MAX_POSITIONS, type HfModelConfig, type HfConfigOptions } from './hf-config.js';
export { importHfFolder, convertHfWeights, freshClassifierWeights, HF_FILES, type HfImport, type HfImportOptions } from './hf-import.js';
export { exportHfFolder, bertShapeFields, toHfCheckpoint, checkExportTarget, hfName, HF_DTYPES, type HfDtype, type HfExportSource, type HfExportOptions, type HfExportResult, type HfCheckpoint } from './hf-export.js';
export { toBertWidths, type BertWidths } from './bert-widths.js';
export { InferenceModel, type PredictResult } from './inference.js';
export { lossSum, distillLossSum, type DistillTarget } from './loss.js';
export { writeModelFolder, readModelFolder, isModelFolder, readCompactionReport, MODEL_FILES, MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelFolderConfig, type ModelFolderContents } from './folder.js';
export { flopsPerToken, type CompactionReport } from './compaction-report.js';
export { encodeSafetensors, decodeSafetensors, type NamedTensor, type SafetensorsDtype, type EncodeOptions } from './safetensors.js';
export { compact, maxAbsLogitDiff, type CompactedModel, type CompactionCounts } from './compact.js';
export { absoluteModelRef, ModelLoadError, locateModel, loadModel, readModelConfig, withOverrides, type LoadedModel, type LocatedModel, type LoadModelOptions, type ModelSourceKind } from './source.js';
export { downloadHubModel, parseHubRef, HubModelError, type HubModelErrorKind, type HubModelOptions, type HubRef } from './hub-model.js';
