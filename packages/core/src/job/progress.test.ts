import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../events.js';
import { PROGRESS_INTERVAL_MS, SPARSITY_REFRESH_MS, progressReporter } from './progress.js';

/** A reporter on a hand-moved clock, and the events it emitted. */
function setup() {
  const clock = { t: 1000 };
  const events: JobEvent[] = [];
  let sparsityReads = 0;
  const reporter = progressReporter({ jobId: 'j', stepsPerEpoch: 4, totalSteps: 8, sparsity: () => (sparsityReads++, 0.25), emit: (e) => events.push(e), now: () => clock.t });
  const step = (s: number, after: number, tokens = 100) => {
    clock.t += after;
    reporter.onProgress({ epoch: 1, step: s, epochStep: ((s - 1) % 4) + 1, loss: 0.5, lr: 1e-3, tokens });
  };
  const progress = () => events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');
  return { clock, events, reporter, step, progress, reads: () => sparsityReads };
}

describe('progress events', () => {
  it('at most one per interval, always the epoch’s last step, with throughput over the tokens since the last one', () => {
    const { step, progress } = setup();
    step(1, 100); // first: emitted
    step(2, 100); // 100 ms later: held back
    step(3, PROGRESS_INTERVAL_MS); // emitted, covers steps 2 and 3
    step(4, 10); // the epoch's last step: emitted although 10 ms later
    expect(progress().map((e) => [e.step, e.epoch_step, e.steps_per_epoch, e.total_steps])).toEqual([
      [1, 1, 4, 8],
      [3, 3, 4, 8],
      [4, 4, 4, 8],
    ]);
    expect(progress().map((e) => e.tokens_per_s)).toEqual([100 / 0.1, 200 / ((100 + PROGRESS_INTERVAL_MS) / 1000), 100 / 0.01]);
  });

  it('evaluation restarts the throughput clock and emits an eval event', () => {
    const { clock, reporter, step, progress, events } = setup();
    step(1, 0);
    clock.t += 5000;
    reporter.onEval({ epoch: 1, split: 'validation', done: 8, total: 16 });
    step(2, 500);
    expect(events[1]).toEqual({ type: 'eval', job_id: 'j', epoch: 1, split: 'validation', done: 8, total: 16, time: clock.t - 500 });
    expect(progress()[1]!.tokens_per_s).toBe(100 / 0.5);
  });

  it('reads the global sparsity at most once per refresh interval', () => {
    const { step, progress, reads } = setup();
    for (let s = 1; s <= 4; s++) step(s, PROGRESS_INTERVAL_MS);
    expect(progress()).toHaveLength(4);
    expect(reads()).toBe(1);
    step(5, SPARSITY_REFRESH_MS);
    expect(reads()).toBe(2);
    expect(progress().every((e) => e.sparsity === 0.25)).toBe(true);
  });
});
