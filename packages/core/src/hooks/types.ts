/**
 * The plugin contract. `TrainerHooks` is the single list of hooks: registration, calling and the
 * plugin types all derive from it, so a hook cannot be added in one place and forgotten in another.
 */
import type { TSchema } from '@sinclair/typebox';
import type { tf } from '../tf.js';
import type { Metrics, LogLevel } from '../events.js';
import type { PruningSpec } from '../spec.js';
import type { Rng } from '../rng.js';
import type { Gate, GateGradients } from '../model/gate.js';
import type { PrunerHelpers } from '../pruning/helpers.js';

type Awaitable<T> = T | Promise<T>;

export interface PluginLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Model facts a pruner may scale its defaults by. */
export interface PrunerModelInfo {
  model_size: string;
  estimated_params_millions: number;
  num_layers: number;
  d_model: number;
  num_heads: number;
  dff: number;
}

/** What a pruner sees. Never the optimizer or the data. */
export interface PrunerContext {
  /** The pruner's name (as registered). */
  readonly name: string;
  readonly gates: readonly Gate[];
  /** The gate with this name; throws with the list of names if there is none. */
  gate(name: string): Gate;
  /** Optimizer steps completed so far (global, across epochs). */
  readonly step: number;
  /** The current epoch, 1-based; 0 before the first epoch starts. */
  readonly epoch: number;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  /** The job's pruning settings (schedule window and targets). */
  readonly pruning: PruningSpec;
  readonly model: PrunerModelInfo;
  /** Seeded from the job's seed and the pruner's name; saved and restored with checkpoints. */
  readonly rng: Rng;
  /** Logs carry the pruner's name. */
  readonly log: PluginLogger;
  /** Sparsity schedules, mask reading/writing, top-k masks and sparsity reports shared by every pruner. */
  readonly helpers: PrunerHelpers;
  /** The TF.js instance the trainer uses. */
  readonly tf: typeof tf;
}

/** Every hook a plugin may implement, in the order the trainer calls them. */
export interface TrainerHooks {
  /** Once, after the model is built (and restored, when resuming) and before the first epoch. */
  setup: (ctx: PrunerContext) => Awaitable<void>;
  /** At the start of each epoch (1-based). */
  beforeEpoch: (ctx: PrunerContext, epoch: number) => Awaitable<void>;
  /** After the gradients of a full batch are known, before clipping and the optimizer update. */
  afterBackward: (ctx: PrunerContext, grads: GateGradients) => Awaitable<void>;
  /** After the optimizer update; `step` is the number of steps completed. */
  afterStep: (ctx: PrunerContext, step: number) => Awaitable<void>;
  /** After the epoch's evaluation, with its metrics. */
  afterEpoch: (ctx: PrunerContext, epoch: number, metrics: Metrics) => Awaitable<void>;
  /** Once, when the job ends (also on failure or abort). */
  teardown: (ctx: PrunerContext) => Awaitable<void>;
}

export type HookName = keyof TrainerHooks;
/** The hook's arguments after the context. */
export type HookArgs<K extends HookName> = Parameters<TrainerHooks[K]> extends [PrunerContext, ...infer Rest] ? Rest : never;

/** Exhaustive at compile time: adding a hook to TrainerHooks without listing it here is an error. */
const HOOK_ORDER: Record<HookName, number> = {
  setup: 0,
  beforeEpoch: 1,
  afterBackward: 2,
  afterStep: 3,
  afterEpoch: 4,
  teardown: 5,
};
export const HOOK_NAMES = (Object.keys(HOOK_ORDER) as HookName[]).sort((a, b) => HOOK_ORDER[a] - HOOK_ORDER[b]);

/**
 * What a pruner's state() returns: JSON values, where typed arrays may stand as leaves
 * (checkpoints store them as binary), e.g. { scores: { 'encoder.layer.0...': Float32Array } }.
 */
export type PrunerState =
  | null
  | boolean
  | number
  | string
  | Float32Array
  | Int32Array
  | Uint8Array
  | PrunerState[]
  | { [key: string]: PrunerState };

export type PrunerInstance = Partial<TrainerHooks> & {
  /** Everything needed to continue exactly after a restart (scores, counters, last targets). */
  state(): PrunerState;
  restore(state: PrunerState): void;
};

export interface PrunerDefinition<Options = Record<string, unknown>> {
  name: string;
  version?: string;
  description?: string;
  /** JSON Schema of the options (a TypeBox schema is one); validated before training starts. */
  optionsSchema: TSchema | Record<string, unknown>;
  create(options: Options, ctx: PrunerContext): Awaitable<PrunerInstance>;
}

export type { LogLevel };
