// Public API of the train module.
export { Trainer, AbortError, sliceBatch, combineMetrics, argmax, evalBatchSize, type TrainerOptions, type TrainerDistill, type TrainerSupernet, type TrainerCallbacks, type TrainerState, type TrainerPosition, type EvalSet, type EvalResult } from './trainer.js';
export { AdamW, type AdamWOptions, type AdamWParam } from './adamw.js';
export { learningRateAt, makeLrSchedule, type LrSchedule } from './schedule.js';
export { clipByGlobalNorm } from './clip.js';
export {
  writeCheckpoint,
  readCheckpoint,
  readLatestCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  CheckpointError,
  type BinaryArray,
  type LatestCheckpointOptions,
} from './checkpoint.js';
export { createPrunerContext, type PrunerContextOptions, type TrainingCounters } from './pruner_context.js';
