/**
 * The job's checkpoint, in one place: what runJob saves (trainer and pruner state, the pruner's
 * RNG, the run's identity), where (<output_dir>/checkpoints/step-*), and how it is read back
 * typed and checked — for a resume, an init_checkpoint, the conformance kit and the CLI. The file
 * format and its checksums belong to train/checkpoint.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PrunerState } from '../hooks/types.js';
import type { GatedBert } from '../model/index.js';
import type { RngState } from '../rng.js';
import { tf } from '../tf.js';
import type { JobSpec } from '../spec.js';
import type { LogLevel } from '../events.js';
import { CheckpointError, listCheckpoints, readCheckpoint, readLatestCheckpoint, writeCheckpoint, type LatestCheckpointOptions, type Trainer, type TrainerState } from '../train/index.js';

export interface JobCheckpoint {
  job_id: string;
  timestamp: string;
  trainer: TrainerState;
  pruner: { name: string; state: PrunerState; rng: RngState } | null;
}

/** A job checkpoint read back and checked, with the folder it came from. */
export interface FoundJobCheckpoint {
  path: string;
  step: number;
  checkpoint: JobCheckpoint;
}

/** Told why a damaged checkpoint was passed over for an older one. */
export type CheckpointWarning = (message: string) => void;

/** Where a job folder keeps its checkpoints. */
export const jobCheckpointsDir = (outputDir: string): string => join(outputDir, 'checkpoints');

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** What a decoded state lacks to be a JobCheckpoint, or null when it is one. */
function missingPart(state: unknown): string | null {
  if (!isObject(state)) return 'no state object';
  if (!isObject(state.trainer)) return 'no trainer state';
  const trainer = state.trainer;
  const absent = (['weights', 'masks', 'position', 'optimizer'] as const).find((k) => !isObject(trainer[k]));
  if (absent) return `no trainer ${absent}`;
  if (state.pruner !== null && !(isObject(state.pruner) && typeof state.pruner.name === 'string')) return 'pruner is neither null nor {name, state, rng}';
  return null;
}

/** The decoded state as a JobCheckpoint, or a CheckpointError naming the folder and what is missing. */
function asJobCheckpoint(state: unknown, path: string): JobCheckpoint {
  const missing = missingPart(state);
  if (missing !== null) throw new CheckpointError(`checkpoint ${path}: not a gbp job checkpoint (${missing})`);
  return state as JobCheckpoint;
}

export function writeJobCheckpoint(outputDir: string, step: number, checkpoint: JobCheckpoint): Promise<string> {
  return writeCheckpoint(jobCheckpointsDir(outputDir), step, checkpoint);
}

/** One checkpoint folder (step-*), verified and checked to be a job's. */
export async function readJobCheckpoint(path: string): Promise<FoundJobCheckpoint> {
  const { step, state } = await readCheckpoint(path);
  return { path, step, checkpoint: asJobCheckpoint(state, path) };
}

async function latestIn(dir: string, warn: CheckpointWarning | undefined): Promise<FoundJobCheckpoint | null> {
  const options: LatestCheckpointOptions = { onSkip: (path, error) => warn?.(`checkpoint ${path} failed its check and was skipped: ${error.message}`) };
  const found = await readLatestCheckpoint(dir, options);
  return found && { path: found.path, step: found.step, checkpoint: asJobCheckpoint(found.state, found.path) };
}

/**
 * The newest intact checkpoint of a job folder (a damaged newer one is passed over, told to `warn`),
 * or null when the job has written none; a CheckpointError when it has some but none is intact.
 */
export function latestJobCheckpoint(outputDir: string, warn?: CheckpointWarning): Promise<FoundJobCheckpoint | null> {
  return latestIn(jobCheckpointsDir(outputDir), warn);
}

/**
 * The job's checkpoint folders, newest first, found by name alone: nothing is read or verified, so
 * this is cheap for a large model (a caller that wants an intact one uses latestJobCheckpoint).
 */
export async function listJobCheckpoints(outputDir: string): Promise<{ path: string; step: number }[]> {
  const dir = jobCheckpointsDir(outputDir);
  return (await listCheckpoints(dir)).reverse().map(({ name, step }) => ({ path: join(dir, name), step }));
}

/** A checkpoint folder itself, a checkpoints folder (its newest intact one), or a job folder (the same). */
export async function readInitCheckpoint(path: string, warn: CheckpointWarning): Promise<JobCheckpoint> {
  if (existsSync(join(path, 'manifest.json'))) return (await readJobCheckpoint(path)).checkpoint;
  const found = (await latestIn(path, warn)) ?? (await latestJobCheckpoint(path, warn));
  if (found === null) throw new Error(`init_checkpoint ${path}: no checkpoint there (expected a step-* folder, a checkpoints folder or a job folder)`);
  return found.checkpoint;
}

/** Sets the model's weights and masks from an init_checkpoint, refusing one of another model config. */
export function loadWeightsAndMasks(model: GatedBert, state: TrainerState, path: string): void {
  for (const s of model.specs) {
    const values = state.weights[s.name];
    if (values === undefined || values.length !== model.param(s.name).size) {
      throw new Error(`init_checkpoint ${path}: weight ${s.name} is missing or has another shape; the model configs differ`);
    }
    const t = tf.tensor(values, model.param(s.name).shape);
    model.param(s.name).assign(t);
    t.dispose();
  }
  for (const g of model.gates) {
    const mask = state.masks[g.name];
    if (mask === undefined) throw new Error(`init_checkpoint ${path}: no mask for gate ${g.name}`);
    g.setMask(mask);
  }
}

/**
 * Where training starts: a resume continues the trainer from its checkpoint (the pruner's part is
 * restored with the pruner); else an init_checkpoint gives the weights and masks; else fresh.
 */
export async function restoreStart(
  spec: JobSpec,
  s: { model: GatedBert; trainer: Trainer; resumed: FoundJobCheckpoint | null; log: (level: LogLevel, message: string) => void },
): Promise<void> {
  if (s.resumed) {
    s.trainer.restore(s.resumed.checkpoint.trainer);
  } else if (spec.init_checkpoint) {
    const init = await readInitCheckpoint(spec.init_checkpoint, (warning) => s.log('warn', warning));
    loadWeightsAndMasks(s.model, init.trainer, spec.init_checkpoint);
    s.log('info', `initialised weights and masks from ${spec.init_checkpoint}`);
  }
}
