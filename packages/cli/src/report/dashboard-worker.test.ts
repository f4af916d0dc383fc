import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fakePlan } from '../../test/fixtures/fake-plan.js';
import { initialView } from '../run/job-view.js';
import { RunStore } from '../run/store.js';

/** A terminal-like stream that keeps what ink wrote. */
function screen() {
  const chunks: string[] = [];
  const out = Object.assign(new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }), { columns: 170, rows: 40, isTTY: true });
  return { out, text: () => chunks.join('').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '') };
}

describe('the dashboard on a queue', () => {
  it("shows the worker running a job in its row and in its log pane's title", async () => {
    const plan = fakePlan('/tmp/unused', 'dash', [{ id: 'a', method: 'baseline' }]);
    const store = new RunStore(plan.jobs.map((j) => initialView(j, '/tmp/unused/job.log')));
    const { out, text } = screen();
    // ink renders only the last frame when it believes it runs in CI (it reads CI when loaded): load it as a terminal would.
    const ci = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    const { startDashboard } = await import('./dashboard.js').finally(() => Object.assign(process.env, Object.fromEntries(Object.entries(ci).filter(([, v]) => v !== undefined))));
    const handle = startDashboard(store, { title: 'gbp run dash', view: 'both', onInterrupt: () => undefined, stdout: out, stdin: new PassThrough() });
    store.update('a', (v) => ({ ...v, status: 'running', worker: 'gpu-box-2' }));
    // ink renders asynchronously: wait for the frame with the update (no fixed sleep).
    const end = Date.now() + 10_000;
    while (!text().includes('gpu-box-2') && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
    const frame = text();
    expect(frame).toMatch(/▶ running @gpu-box-2/);
    expect(frame).toContain('── a (running on gpu-box-2) ──');
    store.update('a', (v) => ({ ...v, status: 'done' }));
    await handle.finish({ views: store.snapshot(), failed: 0, aborted: false });
  });
});
