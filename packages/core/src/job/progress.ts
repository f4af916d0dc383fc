/**
 * Progress and eval events from the trainer's callbacks: at most one progress event per interval
 * (and always the epoch's last step), with throughput over training time only.
 */
import type { JobEvent } from '../events.js';
import type { TrainerCallbacks } from '../train/index.js';

export const PROGRESS_INTERVAL_MS = 250;
/** Global sparsity reads every mask: progress events recompute it at most this often. */
export const SPARSITY_REFRESH_MS = 2000;

export interface ProgressOptions {
  jobId: string;
  stepsPerEpoch: number;
  totalSteps: number;
  /** The model's global sparsity (read at most every SPARSITY_REFRESH_MS). */
  sparsity: () => number;
  emit: (event: JobEvent) => void;
  /** The clock (tests pass their own). */
  now?: () => number;
}

export interface ProgressReporter extends Required<Pick<TrainerCallbacks, 'onProgress' | 'onEval'>> {
  /** Evaluation and checkpoint time must not dilute the next throughput figure: restart its clock. */
  resetThroughput(): void;
}

/** `read()` at most once per `ms`, else its last value. */
function cached<T>(read: () => T, ms: number, now: () => number): () => T {
  let last: { at: number; value: T } | undefined;
  return () => {
    const t = now();
    if (last === undefined || t - last.at >= ms) last = { at: t, value: read() };
    return last.value;
  };
}

export function progressReporter(o: ProgressOptions): ProgressReporter {
  const now = o.now ?? Date.now;
  const sparsity = cached(o.sparsity, SPARSITY_REFRESH_MS, now);
  let lastEmitted = -Infinity;
  let tokensSince = 0;
  let since = now();
  const resetThroughput = () => {
    since = now();
    tokensSince = 0;
  };
  return {
    resetThroughput,
    onProgress(p) {
      tokensSince += p.tokens;
      const t = now();
      if (t - lastEmitted < PROGRESS_INTERVAL_MS && p.epochStep !== o.stepsPerEpoch) return;
      lastEmitted = t;
      const seconds = Math.max(1e-3, (t - since) / 1000);
      o.emit({
        type: 'progress',
        job_id: o.jobId,
        epoch: p.epoch,
        step: p.step,
        epoch_step: p.epochStep,
        steps_per_epoch: o.stepsPerEpoch,
        total_steps: o.totalSteps,
        loss: p.loss,
        lr: p.lr,
        sparsity: sparsity(),
        tokens_per_s: tokensSince / seconds,
        time: t,
      });
      tokensSince = 0;
      since = t;
    },
    onEval(e) {
      resetThroughput();
      o.emit({ type: 'eval', job_id: o.jobId, epoch: e.epoch, split: e.split, done: e.done, total: e.total, time: now() });
    },
  };
}
