/**
 * PrunerContext.helpers: the pruning functions a plugin may call, decided here rather than being
 * whatever the pruning module happens to export. Adding a helper is a deliberate change of the
 * plugin API: list it in PrunerHelpers and in PRUNER_HELPERS (the compiler checks both agree).
 */
import { isEpochEndInWindow, isPruningStep, pruningWindow, sparsitySteps, targetSparsity } from './schedule.js';
import { thresholdMasks, topKMasks, type TopKOptions } from './topk.js';
import type { GateLayout, Granularity } from './groups.js';
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
  /** 0/1 masks keeping weights (or whole groups, by mean score) whose score is >= a threshold. */
  readonly thresholdMasks: typeof thresholdMasks;
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

/** What a job binds its helpers to: its granularity, and its gates (default names and shapes). */
export interface HelperBinding {
  readonly granularity: Granularity;
  readonly gates?: readonly GateLayout[];
  /** Head size for the sparsity report's heads and neurons kept (structured layouts). */
  readonly headSize?: number;
}

/**
 * Helpers bound to a job: topKMasks and thresholdMasks default to the job's granularity (a pruner
 * passing `granularity` overrides it), and to the gates' names and shapes when given one score
 * array per gate, so that pruners written for single weights prune blocks or heads unchanged.
 * Frozen: a plugin cannot swap one for another's.
 */
export function prunerHelpers(binding: HelperBinding = { granularity: { kind: 'weight' } }): PrunerHelpers {
  const { gates } = binding;
  const withDefaults = <O extends Omit<TopKOptions, 'scope'>>(count: number, options: O): O => {
    const own = gates && count === gates.length;
    return {
      ...options,
      granularity: options.granularity ?? binding.granularity,
      names: options.names ?? (own ? gates.map((g) => g.name) : undefined),
      shapes: options.shapes ?? (own ? gates.map((g) => g.shape) : undefined),
    };
  };
  return Object.freeze({
    targetSparsity,
    pruningWindow,
    sparsitySteps,
    isEpochEndInWindow,
    isPruningStep,
    topKMasks: (scores, sparsity, options = {}) => topKMasks(scores, sparsity, withDefaults(scores.length, options)),
    thresholdMasks: (scores, threshold, options = {}) => thresholdMasks(scores, threshold, withDefaults(scores.length, options)),
    readWeights,
    readMask,
    magnitudeScores,
    applyMasks,
    countPruned,
    sparsityReport: (reportGates, options = {}) => sparsityReport(reportGates, { headSize: options.headSize ?? binding.headSize }),
    formatSparsityReport,
  } satisfies PrunerHelpers);
}

/** Helpers at weight granularity, bound to no job (names and shapes only as passed). */
export const PRUNER_HELPERS: PrunerHelpers = prunerHelpers();
