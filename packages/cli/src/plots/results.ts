/** Writes the PNGs of a job and the comparison (PNGs + summary.md) of a set of jobs. */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@gbp/core';
import { comparisonSpec, lossSparsitySpec, metricSparsitySpec } from './charts.js';
import { benchCommand, isCompacted, jobOutcomes, type JobOutcome, type Outcomes } from './job-outcomes.js';
import { accuracyVsSparsitySpec, accuracyVsSpeedupSpec, speedPoints } from './outcome-charts.js';
import { renderPng } from './render.js';
import { BENCH_JSON } from '../bench/bench-file.js';
import { labelJobs } from './job-labels.js';
import { readJobResults } from './results-files.js';

export const COMPARISON_PNG = 'pruning_methods_comparison_dual_axis.png';
export const ACCURACY_VS_SPARSITY_PNG = 'accuracy_vs_sparsity.png';
export const ACCURACY_VS_SPEEDUP_PNG = 'accuracy_vs_speedup.png';
export const SUMMARY_MD = 'summary.md';
/** Every file writeComparison may write into its folder. */
export const COMPARISON_FILES = [SUMMARY_MD, COMPARISON_PNG, ACCURACY_VS_SPARSITY_PNG, ACCURACY_VS_SPEEDUP_PNG] as const;

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

/** Whether a job folder holds a results_*.csv (a search job, which trains no epochs, has none). */
export const hasEpochResults = (dir: string): boolean => existsSync(dir) && readdirSync(dir).some((f) => /^results_.*\.csv$/.test(f));

/** Job folders under `dir`: itself when it holds results, else its results_* subfolders. */
export function findJobDirs(dir: string): string[] {
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  if (hasEpochResults(dir)) return [dir];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('results_'))
    .map((e) => join(dir, e.name))
    .filter(hasEpochResults)
    .sort();
}

export interface Comparison {
  readonly png: string;
  readonly summary: string;
  /** Every PNG written: the epoch comparison, accuracy vs sparsity and, when measured, accuracy vs speedup. */
  readonly plots: readonly string[];
  /** For the user: what was not drawn and how to get it. */
  readonly notes: readonly string[];
}

/**
 * accuracy_vs_speedup.png needs measured speedups: when compacted jobs have no bench.json beside
 * them the plot is not drawn (a plot without its x values would mislead) and a note says the
 * command that measures them; `gbp compare` afterwards draws it.
 */
export async function writeComparison(outDir: string, jobDirs: readonly string[], title: string): Promise<Comparison> {
  // A folder named twice (a pipeline and one of its jobs) is one job.
  const jobs = labelJobs([...new Set(jobDirs)].map(readJobResults));
  const outcomes = jobOutcomes(jobs);
  const png = join(outDir, COMPARISON_PNG);
  const summary = join(outDir, SUMMARY_MD);
  const plots = [png, join(outDir, ACCURACY_VS_SPARSITY_PNG)];
  await writeFileAtomic(png, await renderPng(comparisonSpec(jobs, title)));
  await writeFileAtomic(plots[1]!, await renderPng(accuracyVsSparsitySpec(outcomes.outcomes, title)));
  const notes = outcomes.unbenched.map(
    ({ folder, maxLen }) => `${ACCURACY_VS_SPEEDUP_PNG}: no measured speedups (no bench.json in ${folder}); measure them with: ${benchCommand(folder, maxLen)}, then gbp compare ${folder}`,
  );
  if (speedPoints(outcomes.outcomes).some((p) => p.series !== 'dense')) {
    plots.push(join(outDir, ACCURACY_VS_SPEEDUP_PNG));
    await writeFileAtomic(plots[2]!, await renderPng(accuracyVsSpeedupSpec(outcomes.outcomes, title)));
  } else if (notes.length === 0 && outcomes.outcomes.some(isCompacted)) {
    const folders = new Map(outcomes.outcomes.filter(isCompacted).map((o) => [dirname(o.job.dir), o.maxLen]));
    const files = [...folders.keys()].map((f) => join(f, BENCH_JSON)).join(', ');
    const commands = [...folders].map(([folder, maxLen]) => benchCommand(folder, maxLen)).join('; ');
    notes.push(`${ACCURACY_VS_SPEEDUP_PNG}: not drawn: ${files} measured none of the compacted jobs; run ${commands} again`);
  }
  await writeFileAtomic(summary, summaryMarkdown(outcomes, title, plots.map((p) => p.slice(outDir.length + 1))));
  return { png, summary, plots, notes };
}

const num = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

/** 1234567 -> 1.23M, 45600 -> 45.6k. */
function count(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

const NOT_MEASURED = '—†';

/** params, GFLOPs/seq and speedup cells of a job that wrote model/ (dashes for one that did not). */
function sizeCells(o: JobOutcome): string[] {
  const c = o.compaction;
  if (!c) return ['-', '-', '-'];
  const speed = o.speed ? `${o.speed.speedup.toFixed(2)}x` : NOT_MEASURED;
  return [count(c.params_after), ((c.flops_per_token_after * c.max_len) / 1e9).toFixed(3), speed];
}

export function summaryMarkdown({ outcomes, unbenched }: Outcomes, title: string, images: readonly string[]): string {
  // The size columns only where some job removed whole structures: elsewhere they would all read "dense".
  const sized = outcomes.some(isCompacted);
  const speeds = new Set(outcomes.flatMap((o) => (o.speed ? [`batch ${o.speed.batch} x seq ${o.speed.seq} on ${o.speed.backend}`] : [])));
  const lines = [`# ${title}`, '', ...images.map((image) => `![${image.replace(/\.png$/, '')}](${image})`), ''];
  lines.push(
    `| job | method | task | size | epochs | final metric | best metric | final sparsity | train loss | eval loss | wall time (s) |${sized ? ' params | GFLOPs/seq | speedup |' : ''}`,
    `|---|---|---|---|---:|---|---|---:|---:|---:|---:|${sized ? '---:|---:|---:|' : ''}`,
  );
  for (const o of outcomes) {
    const job = o.job;
    const last = job.rows[job.rows.length - 1];
    const best = job.rows.reduce<number | undefined>((b, r) => (b === undefined || r[job.metric]! > b ? r[job.metric] : b), undefined);
    const size = sized ? ` ${sizeCells(o).join(' | ')} |` : '';
    // A search job trains no epoch: its one row (epoch 0) is the chosen sub-network's evaluation.
    const epochs = o.kind === 'searched' ? '-' : String(job.rows.length);
    lines.push(
      `| ${job.label} | ${job.method} | ${job.task} | ${o.model} | ${epochs} | ${job.metric} ${num(last?.[job.metric])} | ${num(best)} | ${num(o.sparsity, 3)} | ${num(last?.train_loss)} | ${num(last?.eval_loss)} | ${num(last?.wall_time_s, 1)} |${size}`,
    );
  }
  if (sized) {
    lines.push('', 'params and GFLOPs/seq: the compacted model in the job\'s model/ folder (GFLOPs of one forward pass over max_len tokens).');
    if (speeds.size > 0) lines.push(`speedup: measured by gbp bench against the dense model, ${[...speeds].join('; ')}.`);
    if (outcomes.some((o) => o.compaction && !o.speed)) {
      const how = unbenched.map(({ folder, maxLen }) => `\`${benchCommand(folder, maxLen)}\``).join(', ');
      lines.push(`† not measured: ${how ? `no bench.json beside the jobs; run ${how}, then \`gbp compare\` again` : 'the job is not in bench.json'}.`);
    }
  }
  return `${lines.join('\n')}\n`;
}
