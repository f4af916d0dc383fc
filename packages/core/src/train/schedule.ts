/**
 * Learning rate: linear warmup from 0 to the peak, then linear decay towards 0 at the last step.
 * `step` is the 0-based index of the optimizer step about to be taken, so the first step already
 * gets a non-zero rate (peak / warmupSteps) and the last one peak / (total - warmup).
 */
export interface LrSchedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
}

export function makeLrSchedule(peak: number, warmupRatio: number, totalSteps: number): LrSchedule {
  return { peak, warmupSteps: Math.round(warmupRatio * totalSteps), totalSteps };
}

export function learningRateAt(schedule: LrSchedule, step: number): number {
  const { peak, warmupSteps, totalSteps } = schedule;
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  return (peak * Math.max(0, totalSteps - step)) / decaySteps;
}
