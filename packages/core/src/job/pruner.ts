/**
 * The job's pruner: resolved and its options validated before any work (or given by the caller as a
 * definition), then created against the model and trainer, restored from a checkpoint, and
 * registered for the trainer's hooks.
 */
import type { JobSpec } from '../spec.js';
import type { LogLevel } from '../events.js';
import type { ModelInfo, Gate } from '../model/index.js';
import { PluginError, type HookRegistry } from '../hooks/registry.js';
import { resolvePruner, validatePrunerOptions, type AnyPrunerDefinition } from '../hooks/resolve.js';
import { createPrunerContext, type Trainer } from '../train/index.js';
import type { JobCheckpoint } from './checkpoint.js';
import { JobSpecError } from './spec.js';

/** A pruner ready to create: its definition and its validated method_options. */
export interface ResolvedPruner {
  definition: AnyPrunerDefinition;
  options: Record<string, unknown>;
}

/**
 * The pruner of `spec.method` (null for baseline), or `given` when the caller holds the definition
 * itself; then spec.plugins are not loaded and spec.method must be the definition's name, so the
 * results folder and metadata name the pruner that ran.
 */
export async function resolveJobPruner(spec: JobSpec, given?: AnyPrunerDefinition): Promise<ResolvedPruner | null> {
  if (given !== undefined && given.name !== spec.method) {
    throw new JobSpecError([`method: is '${spec.method}', but runJob was given the definition of pruner '${given.name}'; set method: ${given.name}`]);
  }
  const definition = given ?? (await resolvePruner(spec.method, { plugins: spec.plugins, ...(spec.method_module && { module: spec.method_module }) }));
  return definition && { definition, options: validatePrunerOptions(definition, spec.method_options) };
}

export interface AttachOptions {
  spec: JobSpec;
  gates: readonly Gate[];
  modelInfo: ModelInfo;
  trainer: Trainer;
  hooks: HookRegistry;
  /** The pruner's part of the checkpoint being resumed from. */
  resumed: JobCheckpoint['pruner'] | undefined;
  log: (level: LogLevel, message: string, source: string) => void;
}

/** A created, registered pruner; what it adds to each job checkpoint. */
export interface AttachedPruner {
  name: string;
  checkpoint(): NonNullable<JobCheckpoint['pruner']>;
}

/** Creates the pruner (restoring its state and RNG on resume) and registers its hooks. */
export async function attachPruner({ definition, options }: ResolvedPruner, a: AttachOptions): Promise<AttachedPruner> {
  const { name } = definition;
  const ctx = createPrunerContext({
    name,
    gates: a.gates,
    counters: a.trainer.counters,
    epochs: a.spec.train.epochs,
    stepsPerEpoch: a.trainer.stepsPerEpoch,
    totalSteps: a.trainer.totalSteps,
    pruning: a.spec.pruning,
    model: a.modelInfo,
    seed: a.spec.train.seed,
    log: a.log,
  });
  const attributed = async <T>(hook: string, fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw new PluginError(name, hook, error);
    }
  };
  const instance = await attributed('create', () => definition.create(options, ctx));
  const resumed = a.resumed;
  if (resumed) {
    ctx.rng.restore(resumed.rng);
    await attributed('restore', () => instance.restore(resumed.state));
  }
  a.hooks.register(name, ctx, instance);
  return { name, checkpoint: () => ({ name, state: instance.state(), rng: ctx.rng.state() }) };
}
