/** Writes the PNGs of a job and the comparison (PNG + summary.md) of a set of jobs. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@gbp/core';
import { comparisonSpec, lossSparsitySpec, metricSparsitySpec } from './charts.js';
import { renderPng } from './render.js';
import { labelJobs, type LabelledJob } from './job-labels.js';
import { readJobResults } from './results-files.js';

export const COMPARISON_PNG = 'pruning_methods_comparison_dual_axis.png';
export const SUMMARY_MD = 'summary.md';

/** accuracy_sparsity_{method}_{timestamp}.png and loss_sparsity_{method}_{timestamp}.png in the job folder. */
export async function writeJobPlots(dir: string): Promise<{ accuracy: string; loss: string }> {
  const job = readJobResults(dir);
  const suffix = `${job.method}_${job.timestamp}`;
  const accuracy = join(dir, `accuracy_sparsity_${suffix}.png`);
  const loss = join(dir, `loss_sparsity_${suffix}.png`);
  await writeFileAtomic(accuracy, await renderPng(metricSparsitySpec(job)));
  await writeFileAtomic(loss, await renderPng(lossSparsitySpec(job)));
  return { accuracy, loss };
}

/** Job folders under `dir`: itself when it holds results, else its results_* subfolders. */
export function findJobDirs(dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && /^results_.*\.csv$/.test(e.name))) return [dir];
  return entries
    .filter((e) => e.isDirectory() && e.name.startsWith('results_'))
    .map((e) => join(dir, e.name))
    .filter((d) => readdirSync(d).some((f) => /^results_.*\.csv$/.test(f)))
    .sort();
}

export async function writeComparison(outDir: string, jobDirs: readonly string[], title: string): Promise<{ png: string; summary: string }> {
  // A folder named twice (a pipeline and one of its jobs) is one job.
  const jobs = labelJobs([...new Set(jobDirs)].map(readJobResults));
  const png = join(outDir, COMPARISON_PNG);
  const summary = join(outDir, SUMMARY_MD);
  await writeFileAtomic(png, await renderPng(comparisonSpec(jobs, title)));
  await writeFileAtomic(summary, summaryMarkdown(jobs, title));
  return { png, summary };
}

const num = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

export function summaryMarkdown(jobs: readonly LabelledJob[], title: string): string {
  const lines = [
    `# ${title}`,
    '',
    `![comparison](${COMPARISON_PNG})`,
    '',
    '| job | method | task | size | epochs | final metric | best metric | final sparsity | train loss | eval loss | wall time (s) |',
    '|---|---|---|---|---:|---|---|---:|---:|---:|---:|',
  ];
  for (const job of jobs) {
    const last = job.rows[job.rows.length - 1];
    const best = job.rows.reduce<number | undefined>((b, r) => (b === undefined || r[job.metric]! > b ? r[job.metric] : b), undefined);
    lines.push(
      `| ${job.label} | ${job.method} | ${job.task} | ${job.size} | ${job.rows.length} | ${job.metric} ${num(last?.[job.metric])} | ${num(best)} | ${num(last?.sparsity, 3)} | ${num(last?.train_loss)} | ${num(last?.eval_loss)} | ${num(last?.wall_time_s, 1)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
