/**
 * Test helpers for pruner packages ('@gbp/core/testing'): the model's gates over given weights, the
 * job's PrunerContext around them, and a driver that calls a pruner's hooks through the trainer's
 * own hook calls, so a pruner that passes here behaves the same in a job.
 */
// First, as in the main entry: one copy of core per process.
import '../single-copy.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../tf.js';
import { resolveJobSpec, runJob } from '../job.js';
import type { JobSpec, PruningSpec, TaskName } from '../spec.js';
import { Rng } from '../rng.js';
import type { JobEvent, JobResult, LogLevel, Metrics } from '../events.js';
import { HookRegistry } from '../hooks/registry.js';
import { validatePrunerOptions, type AnyPrunerDefinition } from '../hooks/resolve.js';
import type { Gate } from '../model/gate.js';
import { GatedDense } from '../model/gated_dense.js';
import type { PrunerContext, PrunerInstance, PrunerModelInfo, PrunerState } from '../hooks/types.js';
import { createPrunerContext } from '../train/pruner_context.js';
import { epochDone, gradientsReady, startEpoch, stepDone } from '../train/hook_order.js';

export interface TestGateSpec {
  name: string;
  /** [in, out]. */
  shape: readonly [number, number];
  /** Row-major weights; default: seeded normal values. */
  values?: ArrayLike<number>;
  /** Initial 0/1 mask; default all ones. */
  mask?: ArrayLike<number>;
}

export interface TestGate extends Gate {
  dispose(): void;
}

/** The model's own GatedDense over the given weights (zero bias), its mask set through the real setMask. */
export function createTestGate(spec: TestGateSpec, rng = new Rng(1)): TestGate {
  const [rows, cols] = spec.shape;
  const size = rows * cols;
  const values = spec.values ? Float32Array.from(spec.values) : Float32Array.from({ length: size }, () => rng.normal());
  if (values.length !== size) throw new Error(`gate ${spec.name}: ${values.length} values for shape [${rows}, ${cols}]`);
  // tf.variable keeps its initial tensor alive unless created inside tidy (which spares variables).
  const weight = tf.tidy(() => tf.variable(tf.tensor2d(values, [rows, cols]), true));
  const bias = tf.tidy(() => tf.variable(tf.zeros([cols]), true));
  const gate = new GatedDense(spec.name, weight, bias);
  const dispose = () => tf.dispose([weight, bias, gate.mask]);
  try {
    if (spec.mask) gate.setMask(Float32Array.from(spec.mask));
  } catch (error) {
    dispose();
    throw error;
  }
  return Object.assign(gate, { dispose });
}

export interface TestContextOptions {
  gates: readonly TestGateSpec[];
  epochs?: number;
  stepsPerEpoch?: number;
  pruning?: Partial<PruningSpec>;
  /** Seeds the context's rng and default weights. */
  seed?: number;
  name?: string;
  model?: Partial<PrunerModelInfo>;
}

export interface TestContext extends PrunerContext {
  /** The counters the context reads, moved by drivePruner as the trainer moves its own. */
  step: number;
  epoch: number;
  readonly gates: readonly TestGate[];
  /** Everything logged through ctx.log. */
  readonly logs: { level: LogLevel; message: string }[];
  /** Current masks as 0/1 bytes, in gate order. */
  masks(): Uint8Array[];
  dispose(): void;
}

export const DEFAULT_TEST_PRUNING: PruningSpec = { start_sparsity: 0, end_sparsity: 0.5, start_epoch: 1, end_epoch: 2 };

/** The job's own PrunerContext (createPrunerContext) over test gates, with writable counters and the logs kept. */
export function createTestContext(options: TestContextOptions): TestContext {
  const seed = options.seed ?? 42;
  const init = Rng.derive(seed, 'test-weights');
  const gates = options.gates.map((g) => createTestGate(g, init));
  const epochs = options.epochs ?? 3;
  const stepsPerEpoch = options.stepsPerEpoch ?? 10;
  const counters = { step: 0, epoch: 0 };
  const logs: { level: LogLevel; message: string }[] = [];
  const real = createPrunerContext({
    name: options.name ?? 'test',
    gates,
    counters,
    epochs,
    stepsPerEpoch,
    totalSteps: epochs * stepsPerEpoch,
    pruning: { ...DEFAULT_TEST_PRUNING, ...options.pruning },
    model: {
      model_size: 'test',
      estimated_params_millions: gates.reduce((n, g) => n + g.size, 0) / 1e6,
      num_layers: 1,
      d_model: gates[0]?.shape[0] ?? 1,
      num_heads: 1,
      dff: gates[0]?.shape[1] ?? 1,
      ...options.model,
    },
    seed,
    log: (level, message) => void logs.push({ level, message }),
  });
  // The real context is the prototype: only the test extras are added here, frozen like it.
  const counter = (key: keyof typeof counters): PropertyDescriptor => ({
    get: () => counters[key],
    set: (value: number) => void (counters[key] = value),
    enumerable: true,
  });
  return Object.freeze(Object.create(real, {
    step: counter('step'),
    epoch: counter('epoch'),
    logs: { value: logs, enumerable: true },
    masks: { value: () => gates.map((g) => real.helpers.readMask(g)) },
    dispose: { value: () => gates.forEach((g) => g.dispose()) },
  }) as TestContext);
}

/** Gradients for one step: gate name → dL/d(W⊙M). The driver disposes them after the hook. */
export type GradientSource = (ctx: TestContext, step: number) => Map<string, tf.Tensor2D>;

export interface DriveOptions {
  /** Gradients per step; default zeros. */
  gradients?: GradientSource;
  /** Metrics passed to afterEpoch; default {}. */
  metrics?: (epoch: number) => Metrics;
  /** Called after each afterStep (step = steps completed). */
  onStep?: (ctx: TestContext, step: number, instance: PrunerInstance) => void;
  /** Called after each afterEpoch. */
  onEpoch?: (ctx: TestContext, epoch: number, instance: PrunerInstance) => void;
  /** Continue from this many completed steps (resume): restore() first with `state`. */
  startStep?: number;
  state?: PrunerState;
  /** Stop after this many completed steps (no afterEpoch for a partial epoch, no teardown). */
  stopAfterStep?: number;
  /** Call teardown at the end (default true); false keeps the instance usable, e.g. for state(). */
  teardown?: boolean;
}

function zeroGradients(ctx: TestContext): Map<string, tf.Tensor2D> {
  return new Map(ctx.gates.map((g) => [g.name, tf.zeros(g.shape as [number, number])]));
}

/**
 * Validates options, creates the pruner and runs the job's sequence through the trainer's own hook
 * calls (train/hook_order.ts): setup; per epoch beforeEpoch; per step afterBackward(grads),
 * afterStep(step); afterEpoch; teardown. The counters move as Trainer.restore and Trainer.run move
 * them. Returns the instance (e.g. for state()).
 */
export async function drivePruner(def: AnyPrunerDefinition, rawOptions: unknown, ctx: TestContext, drive: DriveOptions = {}): Promise<PrunerInstance> {
  const options = validatePrunerOptions(def, rawOptions);
  const start = drive.startStep ?? 0;
  const stop = drive.stopAfterStep ?? ctx.totalSteps;
  const firstEpoch = Math.floor(start / ctx.stepsPerEpoch) + 1;
  // As after Trainer.restore: the pruner is created, restored and set up at the resumed position.
  ctx.step = start;
  if (start > 0) ctx.epoch = Math.min(firstEpoch, ctx.epochs);
  const instance = await def.create(options, ctx);
  const registry = new HookRegistry();
  registry.register(def.name, ctx, instance);
  if (drive.state !== undefined) instance.restore(drive.state);
  await registry.call('setup');
  for (let epoch = firstEpoch; epoch <= ctx.epochs; epoch++) {
    ctx.epoch = epoch;
    const batchesDone = ctx.step - (epoch - 1) * ctx.stepsPerEpoch;
    await startEpoch(registry, epoch, batchesDone);
    for (let batch = batchesDone; batch < ctx.stepsPerEpoch; batch++) {
      if (ctx.step >= stop) return instance;
      // Always drawn: a source may train the weights as it makes the step's gradients.
      const grads = drive.gradients ? drive.gradients(ctx, ctx.step + 1) : zeroGradients(ctx);
      try {
        await gradientsReady(registry, () => grads);
      } finally {
        grads.forEach((g) => g.dispose());
      }
      ctx.step++;
      await stepDone(registry, ctx.step);
      drive.onStep?.(ctx, ctx.step, instance);
    }
    await epochDone(registry, epoch, drive.metrics?.(epoch) ?? {});
    drive.onEpoch?.(ctx, epoch, instance);
  }
  if (drive.teardown !== false) await registry.call('teardown');
  return instance;
}

/**
 * The GLUE data folder for integration tests: GBP_DATA_DIR, else <repo>/../shared/data/glue;
 * undefined when absent (tests then skip, saying so).
 */
export function glueDataDir(): string | undefined {
  const candidates = [process.env.GBP_DATA_DIR, fileURLToPath(new URL('../../../../../shared/data/glue', import.meta.url))];
  return candidates.find((dir): dir is string => !!dir && existsSync(dir));
}

export interface TinyPruningJobOptions {
  method: string;
  /** The pruner's source file; omit when runJob is given the definition (its `pruner` option). */
  plugin?: string;
  dataDir: string;
  outputDir: string;
  methodOptions?: Record<string, unknown>;
  pruning?: Partial<PruningSpec>;
  task?: TaskName;
}

/**
 * A job spec for a pruner's integration test: a one-layer encoder (d_model 32) on a slice of a
 * GLUE task, cpu backend, three epochs, pruning to 80% over epochs 1–2. `plugin` is the pruner's
 * source file, so the test runs the code under test rather than a build.
 */
export function tinyPruningJobSpec(opts: TinyPruningJobOptions): JobSpec {
  return resolveJobSpec({
    task: opts.task ?? 'sst2',
    output_dir: opts.outputDir,
    method: opts.method,
    method_options: opts.methodOptions ?? {},
    plugins: opts.plugin === undefined ? [] : [opts.plugin],
    model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 2, dff: 64, vocab_size: 400, max_len: 32 },
    train: { epochs: 3, batch_size: 16, max_train_examples: 96, max_eval_examples: 32, learning_rate: 1e-3, checkpoint_every_epoch: false },
    pruning: { start_sparsity: 0, end_sparsity: 0.8, start_epoch: 1, end_epoch: 2, ...opts.pruning },
    data: { dir: opts.dataDir, source: 'local', offline: true, cache_dir: join(opts.outputDir, 'cache') },
    backend: 'cpu',
  });
}

/**
 * Runs `tinyPruningJobSpec(opts)` end to end in a fresh temporary output folder (removed
 * afterwards) and returns the result with every event the job emitted.
 */
export async function runPrunerJob(opts: Omit<TinyPruningJobOptions, 'outputDir'>): Promise<{ result: JobResult; events: JobEvent[] }> {
  const outputDir = mkdtempSync(join(tmpdir(), `gbp-${opts.method}-job-`));
  try {
    const events: JobEvent[] = [];
    const result = await runJob(tinyPruningJobSpec({ ...opts, outputDir }), (e) => events.push(e));
    return { result, events };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

// The pruner conformance kit (checks every pruner passes; a vitest wrapper loading vitest lazily).
export * from './conformance.js';

export { mountTinyDisk, fillDisk, type TinyDisk } from './tiny-disk.js';
// Whole-group checks for masks at block and structured granularity.
export * from './whole_groups.js';
export * from './reference-model.js';
