/**
 * What a compared job is, from its spec: the dense reference (a baseline job that trains the full
 * model), a pruned job, a supernet, a search job, or a model fine-tuned from another job's model/
 * (model.from naming a job folder). Only the dense kind is the reference of speedups and the dense
 * line: a supernet's full model is as fast as dense but its accuracy comes from sandwich training,
 * and a search job or a fine-tune is as fast as the sub-network it holds.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelSpec } from '@gbp/core';
import { modelLabel } from '../model-label.js';
import { readJobResults, type JobResults } from './results-files.js';

export type JobKind = 'dense' | 'pruned' | 'supernet' | 'searched' | 'fine-tuned';

type KindFacts = Pick<JobResults, 'dir' | 'method' | 'rows' | 'metadata'>;

interface SpecBits {
  search?: unknown;
  supernet?: unknown;
  model?: Partial<ModelSpec>;
}
const specOf = (job: Pick<JobResults, 'metadata'>) => (job.metadata.spec ?? {}) as SpecBits;

/** A job results folder: runJob wrote its CSV or metadata there, or its model/ or search/ folder. */
const isJobFolder = (dir: string) =>
  existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).some((f) => /^results_.*\.csv$/.test(f) || /^metadata_.*\.json$/.test(f) || f === 'model' || f === 'search');

/**
 * The job folder whose model/ this job starts from (model.from naming `<job>` or `<job>/model`), or
 * undefined (a size preset, a Hub id, a model folder of its own). When the pipeline folder was moved
 * since, the source is the folder of the same name beside the job.
 */
export function sourceJobDir(job: Pick<JobResults, 'dir' | 'metadata'>): string | undefined {
  const from = specOf(job).model?.from;
  if (from === undefined) return undefined;
  const path = resolve(dirname(job.dir), from).replace(/[/\\]model[/\\]?$/, '');
  return [path, join(dirname(job.dir), basename(path))].find(isJobFolder);
}

export function jobKind(job: KindFacts): JobKind {
  const spec = specOf(job);
  if (spec.search !== undefined) return 'searched';
  if (spec.supernet !== undefined) return 'supernet';
  // A pruning method that pruned nothing by the end trained the full model: dense, as before.
  if (job.method !== 'baseline' && (job.rows.at(-1)?.sparsity ?? 0) > 0) return 'pruned';
  return sourceJobDir(job) !== undefined ? 'fine-tuned' : 'dense';
}

/** The dense reference of a comparison or a bench: a baseline job that trains the full model (see jobKind). */
export const isDenseJob = (job: KindFacts): boolean => jobKind(job) === 'dense';

/**
 * The job that made a fine-tuned job's model (a search or pruned job, or dense), followed back
 * through model.from; the job itself when it is no fine-tune; undefined when the source is gone or
 * has no results left to read.
 */
export function originJob(job: JobResults, seen: ReadonlySet<string> = new Set()): JobResults | undefined {
  if (jobKind(job) !== 'fine-tuned') return job;
  const source = sourceJobDir(job);
  if (source === undefined || seen.has(source)) return undefined;
  try {
    return originJob(readJobResults(source), new Set([...seen, job.dir]));
  } catch {
    return undefined; // the source has no results left to read
  }
}

/**
 * The size preset a job's model descends from: its own, or its origin job's, so a fine-tuned
 * searched model is compared with the dense job of that size. '' when unknown (a Hub model, a
 * source folder that is gone).
 */
export function baseSize(job: JobResults): string {
  return job.size !== '' ? job.size : (originJob(job)?.size ?? '');
}

/** The summary's size cell: the size preset, `from <job id>` for another job's model, else what model.from names. */
export function modelCell(job: Pick<JobResults, 'dir' | 'metadata' | 'size'>): string {
  const source = sourceJobDir(job);
  if (source !== undefined) return `from ${basename(source).replace(/^results_/, '')}`;
  const model = specOf(job).model;
  return model?.from !== undefined ? modelLabel(model as ModelSpec) : job.size;
}
