/**
 * A pipeline's export stages: each finished job of the stages an export stage needs has its model
 * written to <output>/export_<stage>/<job id>/ in the stage's format, as `gbp export` writes it.
 * A failed export is said in a note; the jobs' results stay as they are.
 */
import { join } from 'node:path';
import { loadModel } from '@gbp/core';
import { EXPORT_FORMATS } from '../export/formats.js';
import type { ExportPlan, Plan } from '../pipeline/plan.js';
import type { JobView } from './job-view.js';

/** The folder an export stage writes into. */
export const exportStageDir = (plan: Pick<Plan, 'output_dir'>, exportPlan: Pick<ExportPlan, 'stage'>): string => join(plan.output_dir, `export_${exportPlan.stage}`);

/** Writes every export stage of `plan` for the finished jobs in `views`; returns the folders written. */
export async function exportJobs(plan: Plan, views: readonly JobView[], note: (message: string) => void): Promise<string[]> {
  const written: string[] = [];
  for (const stage of plan.exports) {
    const format = EXPORT_FORMATS[stage.format]!;
    const dtype = stage.dtype ?? format.dtypes[0]!;
    for (const view of views.filter((v) => stage.jobs.includes(v.id) && (v.status === 'done' || v.status === 'skipped'))) {
      const dir = join(exportStageDir(plan, stage), view.id);
      try {
        const model = await loadModel(view.outputDir);
        // force: the folder is this run's own (a rerun replaces it whole).
        const summary = await format.write(dir, model, { dtype, force: true });
        note(`export ${stage.stage}: ${view.id} -> ${dir} (${stage.format}, ${dtype}, ${summary.params.toLocaleString('en-US')} parameters)`);
        for (const line of summary.notes) note(`export ${stage.stage}: ${view.id}: ${line}`);
        written.push(dir);
      } catch (error) {
        note(`export ${stage.stage}: ${view.id} failed (its results are kept): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return written;
}
