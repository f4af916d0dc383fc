/**
 * PrunerContext.helpers: the pruning functions a plugin may call, decided here rather than being
 * whatever the pruning module happens to export. Adding a helper is a deliberate change of the
 * plugin API: list it in PrunerHelpers and in PRUNER_HELPERS (the compiler checks both agree).
 */
import { isEpochEndInWindow, isPruningStep, pruningWindow, sparsitySteps, targetSparsity } from './schedule.js';
import { topKMasks } from './topk.js';
import { countPruned, formatSparsityReport, sparsityReport } from './report.js';
import { applyMasks, magnitudeScores, readMask, readWeights } from './masks.js';

export interface PrunerHelpers {
  // Schedules (see schedule.ts for the formulas).
  /** The target sparsity of a schedule at an epoch end or after a step; 0 before the window. */
  readonly targetSparsity: typeof targetSparsity;
  /** The pruning window with end_epoch capped to the number of epochs; throws when it is empty. */
  readonly pruningWindow: typeof pruningWindow;
  /** The steps schedule's list of sparsities, as fractions. */
  readonly sparsitySteps: typeof sparsitySteps;
  /** True at the last step of an epoch inside the window (where epoch-level pruners act). */
  readonly isEpochEndInWindow: typeof isEpochEndInWindow;
  /** True when a pruner acting every N steps should act after this step. */
  readonly isPruningStep: typeof isPruningStep;
  // Masks.
  /** 0/1 masks pruning the lowest scores, globally or per gate, monotone with previousMasks. */
  readonly topKMasks: typeof topKMasks;
  /** A copy of a gate's weights, row-major. */
  readonly readWeights: typeof readWeights;
  /** A copy of a gate's mask as 0/1 bytes. */
  readonly readMask: typeof readMask;
  /** |W| of each gate, as scores for topKMasks. */
  readonly magnitudeScores: typeof magnitudeScores;
  /** Sets masks[g] on gates[g]. */
  readonly applyMasks: typeof applyMasks;
  // Reports.
  /** Number of zeros in a 0/1 mask. */
  readonly countPruned: typeof countPruned;
  /** Pruned counts and sparsities, global and per gate, read from the masks. */
  readonly sparsityReport: typeof sparsityReport;
  /** A per-gate sparsity table for logs. */
  readonly formatSparsityReport: typeof formatSparsityReport;
}

/** The helpers every PrunerContext carries (frozen: a plugin cannot swap one for another's). */
export const PRUNER_HELPERS: PrunerHelpers = Object.freeze({
  targetSparsity,
  pruningWindow,
  sparsitySteps,
  isEpochEndInWindow,
  isPruningStep,
  topKMasks,
  readWeights,
  readMask,
  magnitudeScores,
  applyMasks,
  countPruned,
  sparsityReport,
  formatSparsityReport,
});
