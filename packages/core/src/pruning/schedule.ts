/**
 * Sparsity schedules as functions of training progress, so one definition serves pruners that
 * act at epoch ends and pruners that act every N optimizer steps.
 *
 * Progress `t` is measured in completed epochs: t = step / stepsPerEpoch (fractional), and t = e
 * at the end of epoch e. The pruning window is [start_epoch, end_epoch] on that axis, with
 * end_epoch capped to the number of epochs; the window fraction is
 *
 *     f = (t - start_epoch) / (end_epoch - start_epoch)        (f = 1 when start_epoch = end_epoch)
 *
 * and every schedule gives 0 while t < start_epoch and its final value once t >= end_epoch:
 *
 * - linear: s(f) = s_i + (s_f - s_i)·f. Pruning at the end of every epoch e of the window gives
 *   s_i at the end of start_epoch, s_f at the end of end_epoch and evenly spaced targets between.
 * - cubic (Zhu & Gupta 2017): s(f) = s_f + (s_i - s_f)·(1 - f)^3, i.e. their
 *   s_t = s_f + (s_i - s_f)(1 - (t - t0)/(nΔt))^3 with t0 = start_epoch and nΔt the window.
 * - steps: the percentages p_1..p_m are spread evenly over the window: p_k is the target from
 *   t_k = start_epoch + (k - 1)/(m - 1)·(end_epoch - start_epoch) on (from start_epoch for m = 1).
 *   A step-level pruner reaches p_k at the first step with step/stepsPerEpoch >= t_k, i.e. step
 *   ceil(t_k·stepsPerEpoch); with m - 1 equal to the window's length in epochs, p_k is reached at
 *   the end of epoch start_epoch + k - 1. Without pruning.sparsity_steps the original framework's
 *   list (DEFAULT_SPARSITY_STEPS) is used, cut at end_sparsity (end_sparsity is appended when it is
 *   not in the list), so the schedule ends where the job's target is. start_sparsity is unused.
 */
import type { PruningSpec } from '../spec.js';

export const SCHEDULE_KINDS = ['linear', 'cubic', 'steps'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** The original framework's sparsity steps, in percent. */
export const DEFAULT_SPARSITY_STEPS: readonly number[] = Object.freeze([
  10, 25, 50, 70, 75, 80, 84, 88, 90, 92, 93, 94, 95, 96, 97, 97.5, 98, 98.5, 99, 99.5,
]);

/** Where training is: at the end of `epoch` (1-based), or after `step` optimizer steps. */
export interface ScheduleClock {
  epochs: number;
  /** End of this epoch (1-based); used when step/stepsPerEpoch are not both given. */
  epoch?: number;
  /** Optimizer steps completed (global). */
  step?: number;
  stepsPerEpoch?: number;
}

export interface PruningWindow {
  /** First epoch of the window (1-based). */
  startEpoch: number;
  /** Last epoch of the window, capped to the number of epochs. */
  endEpoch: number;
}

/** The window with end_epoch capped to `epochs`; throws when it is empty or inverted. */
export function pruningWindow(pruning: Pick<PruningSpec, 'start_epoch' | 'end_epoch'>, epochs: number): PruningWindow {
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`epochs must be a positive integer (got ${epochs})`);
  const endEpoch = Math.min(pruning.end_epoch, epochs);
  if (pruning.start_epoch > endEpoch) {
    const capped = endEpoch < pruning.end_epoch ? ` (end_epoch ${pruning.end_epoch} capped to ${epochs} epochs)` : '';
    throw new Error(`pruning.start_epoch (${pruning.start_epoch}) is after pruning.end_epoch ${endEpoch}${capped}: the pruning window is empty`);
  }
  return { startEpoch: pruning.start_epoch, endEpoch };
}

/** Progress t in completed epochs (see the module comment). */
export function scheduleProgress(clock: ScheduleClock): number {
  if (clock.step !== undefined && clock.stepsPerEpoch !== undefined) {
    if (!(clock.stepsPerEpoch > 0)) throw new Error(`stepsPerEpoch must be > 0 (got ${clock.stepsPerEpoch})`);
    return clock.step / clock.stepsPerEpoch;
  }
  if (clock.epoch === undefined) throw new Error('schedule clock needs epoch, or step and stepsPerEpoch');
  return clock.epoch;
}

// Float noise in step/stepsPerEpoch must not move a schedule point by a step.
const EPS = 1e-9;

/** Window fraction f for progress t: null before the window, 1 at and after its end. */
export function windowFraction(window: PruningWindow, t: number): number | null {
  if (t < window.startEpoch - EPS) return null;
  if (t >= window.endEpoch - EPS) return 1;
  return (t - window.startEpoch) / (window.endEpoch - window.startEpoch);
}

/** The steps schedule's list as fractions: pruning.sparsity_steps, else the default cut at end_sparsity. */
export function sparsitySteps(pruning: Pick<PruningSpec, 'end_sparsity' | 'sparsity_steps'>): number[] {
  if (pruning.sparsity_steps && pruning.sparsity_steps.length > 0) return pruning.sparsity_steps.map((p) => p / 100);
  const end = pruning.end_sparsity;
  const steps = DEFAULT_SPARSITY_STEPS.map((p) => p / 100).filter((s) => s <= end + EPS);
  if (steps.length === 0 || Math.abs(steps[steps.length - 1]! - end) > EPS) steps.push(end);
  return steps;
}

/** The target sparsity of `kind` for a window fraction f in [0, 1]. */
export function sparsityAtFraction(kind: ScheduleKind, pruning: PruningSpec, f: number): number {
  const si = pruning.start_sparsity;
  const sf = pruning.end_sparsity;
  switch (kind) {
    case 'linear':
      return si + (sf - si) * f;
    case 'cubic':
      return sf + (si - sf) * (1 - f) ** 3;
    case 'steps': {
      const steps = sparsitySteps(pruning);
      const k = steps.length === 1 ? 0 : Math.floor(f * (steps.length - 1) + EPS);
      return steps[Math.min(k, steps.length - 1)]!;
    }
    default:
      throw new Error(`unknown sparsity schedule '${String(kind)}' (expected one of ${SCHEDULE_KINDS.join(', ')})`);
  }
}

/**
 * The target sparsity at a point of training: 0 before the window, the schedule inside it, the
 * final value after it. E.g. targetSparsity('linear', pruning, { epoch: 3, epochs: 10 }) is the
 * target in effect at the end of epoch 3.
 */
export function targetSparsity(kind: ScheduleKind, pruning: PruningSpec, clock: ScheduleClock): number {
  const f = windowFraction(pruningWindow(pruning, clock.epochs), scheduleProgress(clock));
  return f === null ? 0 : sparsityAtFraction(kind, pruning, f);
}

/** True when `step` is the last step of an epoch inside the window (where epoch-level pruners act). */
export function isEpochEndInWindow(pruning: PruningSpec, clock: Required<Pick<ScheduleClock, 'step' | 'stepsPerEpoch' | 'epochs'>>): boolean {
  if (clock.step % clock.stepsPerEpoch !== 0) return false;
  const epoch = clock.step / clock.stepsPerEpoch;
  const window = pruningWindow(pruning, clock.epochs);
  return epoch >= window.startEpoch && epoch <= window.endEpoch;
}

/**
 * True when a step-level pruner that acts every `frequencySteps` steps should act after `step`:
 * inside the window (t in [start_epoch, end_epoch]) on multiples of frequencySteps, and always at
 * the end of every epoch of the window so each epoch's evaluation sees that epoch's target and
 * the final target is reached exactly at the end of end_epoch.
 */
export function isPruningStep(
  pruning: PruningSpec,
  clock: Required<Pick<ScheduleClock, 'step' | 'stepsPerEpoch' | 'epochs'>>,
  frequencySteps: number,
): boolean {
  if (isEpochEndInWindow(pruning, clock)) return true;
  if (frequencySteps < 1 || clock.step % frequencySteps !== 0) return false;
  const window = pruningWindow(pruning, clock.epochs);
  const t = clock.step / clock.stepsPerEpoch;
  return t >= window.startEpoch - EPS && t <= window.endEpoch + EPS;
}
