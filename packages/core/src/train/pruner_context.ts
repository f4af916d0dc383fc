/**
 * Builds the PrunerContext a pruner receives: the gates (whose setMask validates shape and 0/1),
 * live step/epoch counters, a logger bound to the pruner's name, an RNG derived from the job seed and
 * the pruner's name (checkpointed by the job), and the shared pruning helpers.
 */
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { prunerHelpers } from '../pruning/helpers.js';
import { granularityOf } from '../pruning/groups.js';
import type { Gate } from '../model/gate.js';
import type { PluginLogger, PrunerContext, PrunerModelInfo } from '../hooks/types.js';
import type { LogLevel } from '../events.js';
import type { PruningSpec } from '../spec.js';

/** Where the context reads the trainer's live counters. */
export interface TrainingCounters {
  readonly step: number;
  readonly epoch: number;
}

export interface PrunerContextOptions {
  name: string;
  gates: readonly Gate[];
  counters: TrainingCounters;
  epochs: number;
  stepsPerEpoch: number;
  totalSteps: number;
  pruning: PruningSpec;
  model: PrunerModelInfo;
  seed: number;
  log: (level: LogLevel, message: string, source: string) => void;
}

export function createPrunerContext(options: PrunerContextOptions): PrunerContext {
  const { name, gates, counters } = options;
  const byName = new Map(gates.map((g) => [g.name, g]));
  const emit = (level: LogLevel) => (message: string) => options.log(level, message, name);
  const log: PluginLogger = { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
  const rng = Rng.derive(options.seed, `pruner:${name}`);
  return Object.freeze({
    name,
    gates,
    gate(gateName: string): Gate {
      const gate = byName.get(gateName);
      if (gate === undefined) throw new Error(`no gate named '${gateName}'; gates are: ${[...byName.keys()].join(', ')}`);
      return gate;
    },
    get step() {
      return counters.step;
    },
    get epoch() {
      return counters.epoch;
    },
    epochs: options.epochs,
    stepsPerEpoch: options.stepsPerEpoch,
    totalSteps: options.totalSteps,
    pruning: options.pruning,
    model: options.model,
    rng,
    log,
    // Bound to the job: topKMasks masks whole blocks or heads/neurons when the spec asks for them.
    helpers: prunerHelpers({
      granularity: granularityOf(options.pruning, options.model),
      gates,
      headSize: options.model.d_model / options.model.num_heads,
    }),
    tf,
  });
}
