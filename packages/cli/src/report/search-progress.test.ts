import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveJobSpec } from '@gbp/core';
import type { PlannedJob } from '../pipeline/plan.js';
import { initialView } from '../run/job-view.js';
import { RunStore } from '../run/store.js';
import { attachPlainReporter } from './plain.js';

const job = (id: string, search: boolean): PlannedJob => ({
  id,
  stage: 's',
  axes: {},
  needs: [],
  spec: resolveJobSpec({ id, task: 'sst2', model: { size: 'tiny' }, output_dir: `/tmp/unused/${id}`, ...(search && { search: { budget: { speedup: 2 } } }) }),
});

const progress = (id: string, step: number) =>
  ({ type: 'progress', job_id: id, epoch: 0, step, epoch_step: step, steps_per_epoch: 80, total_steps: 80, loss: 0.5, lr: 0, sparsity: 0.25, tokens_per_s: 1000, time: Date.now() }) as const;

function screen() {
  const chunks: string[] = [];
  const out = Object.assign(new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }), { columns: 170, rows: 40, isTTY: true });
  return { out, text: () => chunks.join('').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '') };
}

describe("a search job's progress", () => {
  it('reads as candidates scored, not as epoch 0 of the training epochs, in the plain reporter', () => {
    const store = new RunStore([job('searched', true), job('trained', false)].map((j) => initialView(j, '/tmp/unused/job.log')));
    const lines: string[] = [];
    attachPlainReporter(store, { out: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }), verbose: true });
    store.dispatch('searched', progress('searched', 12));
    store.dispatch('trained', progress('trained', 12));
    expect(lines[0]).toMatch(/^\[searched\] candidate 12\/80 loss 0\.5\d* sparsity 0\.250 eta /);
    expect(lines[1]).toMatch(/^\[trained\] epoch 0\/3 step 12\/80 loss /);
  });

  it("shows 'search' in the dashboard's epoch column", async () => {
    const store = new RunStore([job('searched', true)].map((j) => initialView(j, '/tmp/unused/job.log')));
    const { out, text } = screen();
    // ink renders only the last frame when it believes it runs in CI (it reads CI when loaded): load it as a terminal would.
    const ci = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    const { startDashboard } = await import('./dashboard.js').finally(() => Object.assign(process.env, Object.fromEntries(Object.entries(ci).filter(([, v]) => v !== undefined))));
    const handle = startDashboard(store, { title: 'gbp run search', view: 'progress', onInterrupt: () => undefined, stdout: out, stdin: new PassThrough() });
    store.update('searched', (v) => ({ ...v, status: 'running' }));
    store.dispatch('searched', progress('searched', 12));
    // ink renders asynchronously: wait for the frame with the update (no fixed sleep).
    const end = Date.now() + 10_000;
    while (!text().includes('12/80') && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(text()).toMatch(/ search +12\/80 /);
    store.update('searched', (v) => ({ ...v, status: 'done' }));
    await handle.finish({ views: store.snapshot(), failed: 0, aborted: false });
  });
});
