/**
 * The job's checkpoint: what runJob saves (trainer and pruner state, the pruner's RNG, the run's
 * identity), where, and how a resume or an init_checkpoint finds an intact one and applies it.
 * The file format and its verification belong to train/checkpoint.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PrunerState } from './hooks/types.js';
import type { GatedBert } from './model/index.js';
import type { RngState } from './rng.js';
import { tf } from './tf.js';
import { readCheckpoint, readLatestCheckpoint, writeCheckpoint, type LatestCheckpointOptions, type TrainerState } from './train/index.js';

export interface JobCheckpoint {
  job_id: string;
  timestamp: string;
  trainer: TrainerState;
  pruner: { name: string; state: PrunerState; rng: RngState } | null;
}

/** Told why a damaged checkpoint was passed over for an older one. */
export type CheckpointWarning = (message: string) => void;

const checkpointsOf = (outputDir: string) => join(outputDir, 'checkpoints');

const warnOnSkip = (warn: CheckpointWarning): LatestCheckpointOptions => ({
  onSkip: (path, error) => warn(`checkpoint ${path} failed its check and was skipped: ${error.message}`),
});

export function writeJobCheckpoint(outputDir: string, step: number, checkpoint: JobCheckpoint): Promise<string> {
  return writeCheckpoint(checkpointsOf(outputDir), step, checkpoint);
}

/** The newest intact checkpoint of a job folder, or null when it has none; throws when it has some but none is intact. */
export async function readResumeCheckpoint(outputDir: string, warn: CheckpointWarning): Promise<{ path: string; checkpoint: JobCheckpoint } | null> {
  const found = await readLatestCheckpoint(checkpointsOf(outputDir), warnOnSkip(warn));
  return found && { path: found.path, checkpoint: found.state as JobCheckpoint };
}

/** A checkpoint folder itself, a checkpoints folder (its newest intact one), or a job folder (the same). */
export async function readInitCheckpoint(path: string, warn: CheckpointWarning): Promise<JobCheckpoint> {
  if (existsSync(join(path, 'manifest.json'))) return (await readCheckpoint(path)).state as JobCheckpoint;
  const found = (await readLatestCheckpoint(path, warnOnSkip(warn))) ?? (await readLatestCheckpoint(checkpointsOf(path), warnOnSkip(warn)));
  if (found === null) throw new Error(`init_checkpoint ${path}: no checkpoint there (expected a step-* folder, a checkpoints folder or a job folder)`);
  return found.state as JobCheckpoint;
}

/** Sets the model's weights and masks from an init_checkpoint, refusing one of another model config. */
export function loadWeightsAndMasks(model: GatedBert, state: TrainerState | undefined, path: string): void {
  if (!state?.weights) throw new Error(`init_checkpoint ${path}: not a gbp job checkpoint (no trainer weights)`);
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
