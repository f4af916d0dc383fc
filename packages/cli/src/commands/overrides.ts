/** Flags and environment -> CliOverrides (stage 2 input of the config flow). */
import type { JobDefaults } from '../pipeline/schema.js';
import type { CliOverrides } from '../pipeline/resolve.js';
import type { ParsedFlags, RUN_FLAGS } from '../args.js';
import { envOverrides } from '../args.js';
import { absoluteModelRef } from '@gbp/core';

export type RunFlags = ParsedFlags<typeof RUN_FLAGS>;

export function overridesFromFlags(flags: RunFlags, env: NodeJS.ProcessEnv, cwd = process.cwd()): CliOverrides {
  const fromEnv = envOverrides(env);
  const epochs = flags.epochs ?? fromEnv.epochs;
  const set: JobDefaults = {
    train: {
      ...(epochs !== undefined && { epochs }),
      ...(flags.batchSize !== undefined && { batch_size: flags.batchSize }),
      ...(flags.learningRate !== undefined && { learning_rate: flags.learningRate }),
      ...(flags.threads !== undefined && { threads: flags.threads }),
    },
    pruning: {
      ...(flags.startSparsity !== undefined && { start_sparsity: flags.startSparsity }),
      ...(flags.endSparsity !== undefined && { end_sparsity: flags.endSparsity }),
      ...(flags.pruningStart !== undefined && { start_epoch: flags.pruningStart }),
      ...(flags.pruningEnd !== undefined && { end_epoch: flags.pruningEnd }),
      ...(flags.sparsitySteps !== undefined && { sparsity_steps: flags.sparsitySteps.map(Number) }),
    },
    model: {
      ...(flags.maxLen !== undefined && { max_len: flags.maxLen }),
      // Relative to the working directory, as every path on the command line.
      ...(flags.from !== undefined && { from: absoluteModelRef(flags.from, cwd) }),
    },
  };
  const dataDir = flags.dataDir ?? fromEnv.dataDir;
  const queue = flags.queue ?? env.GBP_QUEUE;
  return {
    set,
    axes: {
      ...(flags.methods && { method: flags.methods }),
      ...(flags.task && { task: flags.task }),
      ...(flags.modelSize && { 'model.size': flags.modelSize }),
      ...(flags.granularity && { 'pruning.granularity': flags.granularity }),
    },
    ...(flags.sptExplore && { methods: { spt: { explore_per_layer: flags.sptExplore === 'per-layer' || flags.sptExplore === 'true' } } }),
    ...(dataDir !== undefined && { dataDir }),
    run: {
      ...(flags.parallel && { parallel: true }),
      ...(flags.maxParallelJobs !== undefined && { max_parallel_jobs: flags.maxParallelJobs }),
      ...(flags.backend !== undefined && { backend: flags.backend as never }),
      ...(flags.output !== undefined && { output: flags.output }),
      ...(flags.gpus && { gpus: flags.gpus.map(Number) }),
      ...(queue !== undefined && queue !== '' && { queue }),
      ...(flags.queueCheckpoints && { queue_checkpoints: true }),
    },
  };
}
