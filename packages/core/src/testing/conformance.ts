/**
 * The pruner conformance kit: checks every pruner (built-in or third-party) must pass, runnable from
 * any test framework (`checkPrunerConformance`, `conformanceChecks`) or as a vitest suite
 * (`describePrunerConformance`, which loads vitest only when called: vitest is an optional peer).
 *
 * Two kinds of check:
 * - driven: the pruner's hooks are called in the trainer's order (drivePruner) on three small gates
 *   whose weights move by SGD on a quadratic loss towards seeded targets, with seeded gradient
 *   noise, so scores and magnitudes change as in training. Cheap (milliseconds to a second).
 * - job: runJob on a one-layer encoder over a synthetic sst2-shaped data set written to a temp
 *   folder, straight and interrupted mid-epoch then resumed. A few seconds on the cpu backend.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
// Types only (erased): vitest itself is imported lazily by describePrunerConformance.
import type * as Vitest from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { latestJobCheckpoint, resolveJobSpec, runJob } from '../job.js';
import type { BackendName, JobSpec, PruningSpec } from '../spec.js';
import type { EpochRecord, JobResult } from '../events.js';
import { HOOK_NAMES, type PrunerContext, type PrunerInstance } from '../hooks/types.js';
import type { AnyPrunerDefinition } from '../hooks/resolve.js';
import { SPARSITY_TOLERANCE, countPruned, targetSparsity, type ScheduleKind } from '../pruning/index.js';
import { createTestContext, drivePruner, type TestContext, type TestGateSpec } from './index.js';
import { largestGroup, partlyMaskedGroups } from './whole_groups.js';
import { granularityOf } from '../pruning/groups.js';
import type { PrunerModelInfo } from '../hooks/types.js';

/** The global sparsity a pruner promises after each epoch (1-based): a core schedule, or a function. */
export type ExpectedSparsity = ScheduleKind | ((epoch: number, pruning: PruningSpec, epochs: number) => number);

export const CONFORMANCE_CHECKS = ['masks-binary', 'schedule', 'deterministic', 'no-tensor-growth', 'granularity', 'job-resume'] as const;
export type ConformanceCheckName = (typeof CONFORMANCE_CHECKS)[number];

export interface ConformanceOptions {
  /** The pruner's options (method_options), validated against its schema. Default {}. */
  options?: Record<string, unknown>;
  /**
   * The schedule the pruner declares, checked after every epoch (after afterEpoch, which is what
   * the epoch's record reports): e.g. 'linear', or (epoch, pruning, epochs) => sparsity.
   */
  expectedSparsity: ExpectedSparsity;
  /** Pruning window and targets of every check. Default CONFORMANCE_PRUNING. */
  pruning?: Partial<PruningSpec>;
  /** Allowed |global sparsity − expected| after each epoch. Default SPARSITY_TOLERANCE (0.005). */
  tolerance?: number;
  /** Seed of weights, gradients, data and the job. Default 7. */
  seed?: number;
  /** Checks to leave out, each with the reason the report gives. */
  skip?: Partial<Record<ConformanceCheckName, string>>;
  /** Backend of the job check. Default 'cpu' (deterministic and fast at this size). */
  backend?: BackendName;
  /** Keep the job check's temp folder (its path is in the check's message). */
  keepOutputs?: boolean;
}

/** Window of the checks: linear gives 0, 37.5%, 75% after epochs 1–3; steps 10%, 50%, 75%. */
export const CONFORMANCE_PRUNING: PruningSpec = { start_sparsity: 0, end_sparsity: 0.75, start_epoch: 1, end_epoch: 3 };

/** Driven checks run one epoch past the window, so holding the final target is checked too. */
const DRIVEN = { epochs: 4, stepsPerEpoch: 8, learningRate: 0.05, noise: 0.1 } as const;
const DRIVEN_GATES: readonly TestGateSpec[] = [
  { name: 'encoder.layer.0.attention.self.query', shape: [16, 16] },
  { name: 'encoder.layer.0.intermediate.dense', shape: [16, 32] },
  { name: 'encoder.layer.0.output.dense', shape: [32, 16] },
];

/**
 * The granularity check's model: two encoder layers of d 8, 2 heads (head size 4), dff 16, gates
 * named as in the model, so block and structured grouping see a real layer layout.
 * A head is 3·8·4 + 4·8 = 128 weights, a neuron 8 + 8 = 16, a layer 512.
 */
const LAYERED = { d_model: 8, num_heads: 2, dff: 16, num_layers: 2, block: [4, 4] as [number, number] };
const LAYERED_GATES: readonly TestGateSpec[] = Array.from({ length: LAYERED.num_layers }, (_, layer) => {
  const { d_model: d, dff } = LAYERED;
  const p = `encoder.layer.${layer}.`;
  return [
    { name: `${p}attention.self.query`, shape: [d, d] as const },
    { name: `${p}attention.self.key`, shape: [d, d] as const },
    { name: `${p}attention.self.value`, shape: [d, d] as const },
    { name: `${p}attention.output.dense`, shape: [d, d] as const },
    { name: `${p}intermediate.dense`, shape: [d, dff] as const },
    { name: `${p}output.dense`, shape: [dff, d] as const },
  ];
}).flat();
const LAYERED_MODEL: Partial<PrunerModelInfo> = { d_model: LAYERED.d_model, num_heads: LAYERED.num_heads, dff: LAYERED.dff, num_layers: LAYERED.num_layers };

export interface ConformanceCheck {
  name: ConformanceCheckName;
  description: string;
  /** Set when the check is skipped (options.skip): why. */
  skip?: string;
  /** Throws an Error saying what does not conform; resolves to a short note (or nothing). */
  run(): Promise<string | void>;
}

export interface ConformanceResult {
  name: ConformanceCheckName;
  description: string;
  status: 'passed' | 'failed' | 'skipped';
  /** The failure, the skip reason, or the check's note. */
  message: string;
  ms: number;
}

export interface ConformanceReport {
  pruner: string;
  passed: boolean;
  results: ConformanceResult[];
}

export class ConformanceError extends Error {
  readonly code = 'PRUNER_NOT_CONFORMING';
  constructor(
    readonly pruner: string,
    readonly check: ConformanceCheckName,
    message: string,
  ) {
    super(`pruner ${pruner} fails conformance check '${check}': ${message}`);
    this.name = 'ConformanceError';
  }
}

interface Resolved {
  def: AnyPrunerDefinition;
  options: Record<string, unknown>;
  pruning: PruningSpec;
  expected: (epoch: number, epochs: number) => number;
  tolerance: number;
  seed: number;
  backend: BackendName;
  keepOutputs: boolean;
}

function resolveOptions(def: AnyPrunerDefinition, o: ConformanceOptions): Resolved {
  const pruning = { ...CONFORMANCE_PRUNING, ...o.pruning };
  const declared = o.expectedSparsity;
  if (declared === undefined) throw new Error(`conformance of pruner ${def.name}: options.expectedSparsity is required (a schedule kind or a function of the epoch)`);
  const expected =
    typeof declared === 'function'
      ? (epoch: number, epochs: number) => declared(epoch, pruning, epochs)
      : (epoch: number, epochs: number) => targetSparsity(declared, pruning, { epoch, epochs });
  return {
    def,
    options: o.options ?? {},
    pruning,
    expected,
    tolerance: o.tolerance ?? SPARSITY_TOLERANCE,
    seed: o.seed ?? 7,
    backend: o.backend ?? 'cpu',
    keepOutputs: o.keepOutputs ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Driven runs

/**
 * Per-step gradients of L = ½‖W⊙M − T‖² plus seeded noise, and the trainer's masked SGD update
 * W ← W − η·G⊙M (a pruned weight gets no update). The update is applied when the step's gradient
 * is produced, i.e. just before afterBackward: pruners see weights that move between steps.
 */
function syntheticTraining(ctx: TestContext, seed: number) {
  const targetsRng = Rng.derive(seed, 'conformance-targets');
  const noiseRng = Rng.derive(seed, 'conformance-noise');
  const targets = new Map(
    ctx.gates.map((g) => [g.name, tf.tensor2d(Float32Array.from({ length: g.size }, () => targetsRng.normal()), g.shape as [number, number])]),
  );
  return {
    gradients(c: TestContext): Map<string, tf.Tensor2D> {
      const grads = new Map<string, tf.Tensor2D>();
      for (const gate of c.gates) {
        const noise = Float32Array.from({ length: gate.size }, () => DRIVEN.noise * noiseRng.normal());
        const grad = tf.tidy(() => gate.weight.mul(gate.mask).sub(targets.get(gate.name)!).add(tf.tensor2d(noise, gate.shape as [number, number])) as tf.Tensor2D);
        tf.tidy(() => gate.weight.assign(gate.weight.sub(grad.mul(gate.mask).mul(DRIVEN.learningRate))));
        grads.set(gate.name, grad);
      }
      return grads;
    },
    dispose: () => targets.forEach((t) => t.dispose()),
  };
}

/** Overrides of a driven run's layout: gates, model info and pruning spec. */
interface DrivenLayout {
  gates?: readonly TestGateSpec[];
  model?: Partial<PrunerModelInfo>;
  pruning?: Partial<PruningSpec>;
}

interface DrivenObservers {
  onStep?: (ctx: TestContext, step: number, instance: PrunerInstance) => void;
  onEpoch?: (ctx: TestContext, epoch: number, instance: PrunerInstance) => void;
  /** Called after create's context exists and before the pruner is created. */
  beforeCreate?: () => void;
  afterTeardown?: () => void;
}

/** One driven run over a fresh context; the context and synthetic data are disposed after it. */
async function drive(r: Resolved, observe: DrivenObservers = {}, seed = r.seed, layout: DrivenLayout = {}): Promise<void> {
  const ctx = createTestContext({
    gates: layout.gates ?? DRIVEN_GATES,
    model: layout.model,
    epochs: DRIVEN.epochs,
    stepsPerEpoch: DRIVEN.stepsPerEpoch,
    pruning: { ...r.pruning, ...layout.pruning },
    seed,
    name: r.def.name,
  });
  const training = syntheticTraining(ctx, seed);
  try {
    observe.beforeCreate?.();
    await drivePruner(r.def, r.options, ctx, { gradients: training.gradients, onStep: observe.onStep, onEpoch: observe.onEpoch });
    observe.afterTeardown?.();
  } finally {
    training.dispose();
    ctx.dispose();
  }
}

/** Every mask is a float32 variable of the gate's shape holding only 0 and 1. */
function assertBinaryMasks(ctx: PrunerContext, when: string): void {
  for (const gate of ctx.gates) {
    const { mask } = gate;
    if (mask.shape.length !== 2 || mask.shape[0] !== gate.shape[0] || mask.shape[1] !== gate.shape[1]) {
      throw new Error(`${when}: gate ${gate.name} has a mask of shape [${mask.shape.join(', ')}], expected [${gate.shape.join(', ')}]`);
    }
    if (mask.dtype !== 'float32') throw new Error(`${when}: gate ${gate.name} has a ${mask.dtype} mask, expected float32`);
    const values = mask.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== 0 && values[i] !== 1) throw new Error(`${when}: gate ${gate.name} mask value ${values[i]} at index ${i} is not 0 or 1`);
    }
  }
}

function globalSparsity(ctx: PrunerContext): number {
  let pruned = 0;
  let size = 0;
  for (const gate of ctx.gates) {
    pruned += countPruned(gate.mask.dataSync());
    size += gate.size;
  }
  return pruned / size;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function assertSchedule(r: Resolved, sparsityByEpoch: readonly number[], epochs: number, where: string): string {
  const rows = sparsityByEpoch.map((s, i) => ({ epoch: i + 1, actual: s, expected: r.expected(i + 1, epochs) }));
  const off = rows.filter((row) => Math.abs(row.actual - row.expected) > r.tolerance);
  const table = rows.map((row) => `epoch ${row.epoch}: ${pct(row.actual)} (expected ${pct(row.expected)})`).join(', ');
  if (off.length > 0) throw new Error(`${where}: global sparsity off the declared schedule by more than ${pct(r.tolerance)} at epoch ${off.map((o) => o.epoch).join(', ')}: ${table}`);
  return table;
}

function firstMaskDifference(a: readonly Uint8Array[] | Record<string, ArrayLike<number>>, b: typeof a, names: readonly string[]): string | null {
  const get = (m: typeof a, g: number) => (Array.isArray(m) ? (m as Uint8Array[])[g] : (m as Record<string, ArrayLike<number>>)[names[g]!]);
  for (let g = 0; g < names.length; g++) {
    const x = get(a, g);
    const y = get(b, g);
    if (!x || !y || x.length !== y.length) return `gate ${names[g]}: mask missing or of another size`;
    let differing = 0;
    let first = -1;
    for (let i = 0; i < x.length; i++) {
      if ((x[i] === 0) !== (y[i] === 0)) {
        differing++;
        if (first < 0) first = i;
      }
    }
    if (differing > 0) return `gate ${names[g]}: ${differing} of ${x.length} mask entries differ (first at index ${first})`;
  }
  return null;
}

/**
 * At block and structured granularity (set in the job spec, never in the pruner), every epoch ends
 * with whole groups masked, and the global sparsity is never above the schedule and below it by
 * at most the largest group per gate (block) or layer (structured), whatever the pruner's scope.
 */
async function granularityCheck(r: Resolved): Promise<string> {
  const notes: string[] = [];
  for (const kind of ['block', 'structured'] as const) {
    const pruning: Partial<PruningSpec> = { granularity: kind, block: LAYERED.block };
    const granularity = granularityOf(pruning, { d_model: LAYERED.d_model, num_heads: LAYERED.num_heads });
    const sparsities: number[] = [];
    await drive(
      r,
      {
        onEpoch: (ctx, epoch) => {
          const masks = ctx.masks();
          const gates = ctx.gates.map((g, i) => ({ name: g.name, shape: g.shape, mask: masks[i]! }));
          const broken = partlyMaskedGroups(gates, granularity);
          if (broken.length > 0) throw new Error(`${kind} granularity, after epoch ${epoch}: ${broken.length} groups partly masked, e.g. ${broken.slice(0, 3).join('; ')}`);
          const size = gates.reduce((n, g) => n + g.mask.length, 0);
          const partitions = kind === 'block' ? gates.length : LAYERED.num_layers;
          const actual = globalSparsity(ctx);
          const expected = r.expected(epoch, DRIVEN.epochs);
          const below = r.tolerance + (partitions * largestGroup(gates, granularity)) / size;
          if (actual > expected + r.tolerance || actual < expected - below) {
            throw new Error(`${kind} granularity, after epoch ${epoch}: global sparsity ${pct(actual)}, expected ${pct(expected)} (at most ${pct(r.tolerance)} above, ${pct(below)} below: the group-size bound)`);
          }
          sparsities.push(actual);
        },
      },
      r.seed,
      { gates: LAYERED_GATES, model: LAYERED_MODEL, pruning },
    );
    notes.push(`${kind}: ${sparsities.map(pct).join(', ')}`);
  }
  return `whole groups after every epoch; ${notes.join('; ')}`;
}

// ---------------------------------------------------------------------------------------------
// Job runs

const WORDS = { positive: ['good', 'great', 'fine', 'superb'], negative: ['bad', 'awful', 'poor', 'dull'], filler: ['movie', 'film', 'the', 'a', 'plot', 'acting', 'was', 'very', 'quite', 'its'] };

/**
 * Writes a small sst2-shaped data set (<dir>/sst2/{train,validation}.jsonl; label 1 iff the sentence
 * holds a positive word) and returns `dir`, for data.dir of a job that needs no GLUE download.
 */
export async function writeSyntheticSst2(dir: string, opts: { train?: number; validation?: number; seed?: number } = {}): Promise<string> {
  const rng = new Rng(opts.seed ?? 3);
  const line = (idx: number) => {
    const label = rng.int(2);
    const words = Array.from({ length: 3 + rng.int(6) }, () => WORDS.filler[rng.int(WORDS.filler.length)]!);
    const cue = label === 1 ? WORDS.positive : WORDS.negative;
    words.splice(rng.int(words.length + 1), 0, cue[rng.int(cue.length)]!);
    return JSON.stringify({ sentence: words.join(' '), label, idx });
  };
  const lines = (n: number) => `${Array.from({ length: n }, (_, i) => line(i)).join('\n')}\n`;
  await mkdir(join(dir, 'sst2'), { recursive: true });
  await writeFile(join(dir, 'sst2', 'train.jsonl'), lines(opts.train ?? 96));
  await writeFile(join(dir, 'sst2', 'validation.jsonl'), lines(opts.validation ?? 32));
  return dir;
}

const JOB = { epochs: 3, batchSize: 16, trainExamples: 96 } as const;

/**
 * The spec of the job check: a one-layer encoder (8,192 gated weights), 6 steps per epoch. `plugin`
 * (a module path) is only needed when runJob is to resolve `method` itself, not given the definition.
 */
export function conformanceJobSpec(opts: { method: string; plugin?: string; dataDir: string; outputDir: string; methodOptions?: Record<string, unknown>; pruning?: Partial<PruningSpec>; seed?: number; backend?: BackendName }): JobSpec {
  return resolveJobSpec({
    id: `conformance_${opts.method}`,
    task: 'sst2',
    method: opts.method,
    method_options: opts.methodOptions ?? {},
    plugins: opts.plugin === undefined ? [] : [opts.plugin],
    model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 2, dff: 64, vocab_size: 128, max_len: 16 },
    train: { epochs: JOB.epochs, batch_size: JOB.batchSize, max_train_examples: JOB.trainExamples, learning_rate: 2e-3, seed: opts.seed ?? 7, checkpoint_every_epoch: true },
    pruning: { ...CONFORMANCE_PRUNING, ...opts.pruning },
    data: { dir: opts.dataDir, source: 'local', offline: true, cache_dir: join(opts.outputDir, '..', 'cache') },
    backend: opts.backend ?? 'cpu',
    output_dir: opts.outputDir,
  });
}

/** `def` with afterStep followed by `atStep(step)`: aborts the job at an exact step. */
function withStepObserver(def: AnyPrunerDefinition, atStep: (step: number) => void): AnyPrunerDefinition {
  return {
    ...def,
    async create(options, ctx) {
      const inner = await def.create(options, ctx);
      const wrapped: PrunerInstance = { state: () => inner.state(), restore: (s) => inner.restore(s) };
      for (const hook of HOOK_NAMES) {
        const fn = inner[hook] as ((...args: unknown[]) => unknown) | undefined;
        if (typeof fn === 'function') (wrapped as Record<string, unknown>)[hook] = (...args: unknown[]) => fn.apply(inner, args);
      }
      wrapped.afterStep = async (c, step) => {
        await inner.afterStep?.call(inner, c, step);
        atStep(step);
      };
      return wrapped;
    },
  };
}

async function finalMasks(outputDir: string): Promise<Record<string, Float32Array>> {
  const found = await latestJobCheckpoint(outputDir);
  if (!found) throw new Error(`no checkpoint in ${outputDir}`);
  return found.checkpoint.trainer.masks;
}

function compareRecords(straight: readonly EpochRecord[], resumed: readonly EpochRecord[]): string | null {
  if (straight.length !== resumed.length) return `the straight run has ${straight.length} epoch records, the resumed run ${resumed.length}`;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a));
  for (let i = 0; i < straight.length; i++) {
    const a = straight[i]!;
    const b = resumed[i]!;
    const values: [string, number, number][] = [
      ['train_loss', a.train_loss, b.train_loss],
      ['eval_loss', a.eval_loss, b.eval_loss],
      ['sparsity', a.sparsity, b.sparsity],
      ...Object.keys(a.metrics).map((k): [string, number, number] => [k, a.metrics[k]!, b.metrics[k] ?? NaN]),
    ];
    const bad = values.find(([, x, y]) => !close(x, y));
    if (bad) return `epoch ${a.epoch}: ${bad[0]} is ${bad[1]} in the straight run but ${bad[2]} after abort + resume`;
  }
  return null;
}

async function jobResumeCheck(r: Resolved): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), `gbp-conformance-${r.def.name.replace(/[^\w-]/g, '_')}-`));
  try {
    const dataDir = await writeSyntheticSst2(join(root, 'data'), { seed: r.seed });
    const spec = (name: string) =>
      conformanceJobSpec({ method: r.def.name, dataDir, outputDir: join(root, name), methodOptions: r.options, pruning: r.pruning, seed: r.seed, backend: r.backend });

    const straightSpec = spec('straight');
    const straight: JobResult = await runJob(straightSpec, () => undefined, { pruner: r.def });
    const schedule = assertSchedule(r, straight.epochs.map((e) => e.sparsity), JOB.epochs, 'runJob epoch records');

    // Abort in the middle of the second epoch (inside the window), from afterStep: an exact step.
    const stepsPerEpoch = Math.ceil(JOB.trainExamples / JOB.batchSize);
    const abortAt = stepsPerEpoch + Math.ceil(stepsPerEpoch / 2);
    const controller = new AbortController();
    const interruptedSpec = spec('interrupted');
    const observed = withStepObserver(r.def, (step) => step === abortAt && controller.abort());
    let aborted: unknown;
    try {
      await runJob(interruptedSpec, () => undefined, { signal: controller.signal, pruner: observed });
    } catch (error) {
      aborted = error;
    }
    if (!(aborted instanceof Error) || aborted.name !== 'AbortError') {
      throw new Error(`runJob did not abort at step ${abortAt}: ${aborted instanceof Error ? aborted.message : 'it finished'}`);
    }
    const resumedSpec = { ...interruptedSpec, resume: true };
    const resumed = await runJob(resumedSpec, () => undefined, { pruner: r.def });

    const recordDiff = compareRecords(straight.epochs, resumed.epochs);
    if (recordDiff) throw new Error(recordDiff);
    const names = Object.keys(straight.sparsity.gates);
    const maskDiff = firstMaskDifference(await finalMasks(straightSpec.output_dir), await finalMasks(resumedSpec.output_dir), names);
    if (maskDiff) throw new Error(`final masks differ between the straight run and abort at step ${abortAt} + resume: ${maskDiff}`);
    return `aborted at step ${abortAt} and resumed: same metrics and masks as a straight run; ${schedule}${r.keepOutputs ? `; outputs in ${root}` : ''}`;
  } finally {
    if (!r.keepOutputs) await rm(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The checks

/** The conformance checks of `def`, each a named async function that throws on failure. */
export function conformanceChecks(def: AnyPrunerDefinition, options: ConformanceOptions): ConformanceCheck[] {
  const r = resolveOptions(def, options);
  const checks: Omit<ConformanceCheck, 'skip'>[] = [
    {
      name: 'masks-binary',
      description: 'after every step and epoch, each mask is float32 of its gate’s shape and holds only 0 and 1',
      async run() {
        let seen = 0;
        await drive(r, {
          onStep: (ctx, step) => (assertBinaryMasks(ctx, `after step ${step}`), seen++),
          onEpoch: (ctx, epoch) => assertBinaryMasks(ctx, `after epoch ${epoch}`),
        });
        return `${seen} steps checked`;
      },
    },
    {
      name: 'schedule',
      description: 'after each epoch the global sparsity is the declared schedule’s target, within tolerance',
      async run() {
        const sparsities: number[] = [];
        await drive(r, { onEpoch: (ctx) => void sparsities.push(globalSparsity(ctx)) });
        if (sparsities.length !== DRIVEN.epochs) throw new Error(`afterEpoch was reached ${sparsities.length} times, expected ${DRIVEN.epochs}`);
        return assertSchedule(r, sparsities, DRIVEN.epochs, 'driven run');
      },
    },
    {
      name: 'deterministic',
      description: 'the same seed gives the same masks after every epoch',
      async run() {
        const runOnce = async () => {
          const masks: Uint8Array[][] = [];
          await drive(r, { onEpoch: (ctx) => void masks.push(ctx.masks()) });
          return masks;
        };
        const first = await runOnce();
        const second = await runOnce();
        const names = DRIVEN_GATES.map((g) => g.name);
        for (let e = 0; e < first.length; e++) {
          const diff = firstMaskDifference(first[e]!, second[e] ?? [], names);
          if (diff) throw new Error(`two runs with seed ${r.seed} differ after epoch ${e + 1}: ${diff}`);
        }
      },
    },
    {
      name: 'no-tensor-growth',
      description: 'the number of live tensors does not grow from epoch to epoch, and teardown frees what the pruner allocated',
      async run() {
        let before = 0;
        let after = 0;
        const atEpochEnd: number[] = [];
        await drive(r, {
          beforeCreate: () => (before = tf.memory().numTensors),
          onEpoch: () => void atEpochEnd.push(tf.memory().numTensors),
          afterTeardown: () => (after = tf.memory().numTensors),
        });
        // From the end of epoch 2 on: the first epochs may allocate lazily (first pruning step).
        for (let e = 2; e < atEpochEnd.length; e++) {
          if (atEpochEnd[e]! > atEpochEnd[1]!) {
            throw new Error(`${atEpochEnd[e]! - atEpochEnd[1]!} more live tensors after epoch ${e + 1} than after epoch 2 (${atEpochEnd.join(', ')} after epochs 1..${atEpochEnd.length}): a tensor leaks per step or per epoch; dispose it or use tf.tidy`);
          }
        }
        if (after > before) throw new Error(`${after - before} tensors still live after teardown (${before} before create, ${after} after teardown): dispose the pruner’s variables in teardown`);
        return `live tensors after epochs 1..${atEpochEnd.length}: ${atEpochEnd.map((n) => n - before).join(', ')} above the start`;
      },
    },
    {
      name: 'granularity',
      description: 'with the job at block or structured granularity, every epoch ends with whole blocks, heads and neurons masked, near the schedule',
      run: () => granularityCheck(r),
    },
    {
      name: 'job-resume',
      description: 'in runJob, epoch sparsities follow the schedule, and abort mid-epoch + resume gives the same metrics and masks as a straight run',
      run: () => jobResumeCheck(r),
    },
  ];
  return checks.map((c) => (options.skip?.[c.name] !== undefined ? { ...c, skip: options.skip[c.name] } : c));
}

/** Runs every check in order and reports each; never throws for a failing check. */
export async function checkPrunerConformance(def: AnyPrunerDefinition, options: ConformanceOptions): Promise<ConformanceReport> {
  const results: ConformanceResult[] = [];
  for (const check of conformanceChecks(def, options)) {
    const started = Date.now();
    if (check.skip !== undefined) {
      results.push({ name: check.name, description: check.description, status: 'skipped', message: check.skip, ms: 0 });
      continue;
    }
    try {
      const note = await check.run();
      results.push({ name: check.name, description: check.description, status: 'passed', message: note ?? '', ms: Date.now() - started });
    } catch (error) {
      results.push({ name: check.name, description: check.description, status: 'failed', message: error instanceof Error ? error.message : String(error), ms: Date.now() - started });
    }
  }
  return { pruner: def.name, passed: results.every((r) => r.status !== 'failed'), results };
}

/** Throws a ConformanceError for the first failed check of a report. */
export function assertConformance(report: ConformanceReport): void {
  const failed = report.results.find((r) => r.status === 'failed');
  if (failed) throw new ConformanceError(report.pruner, failed.name, failed.message);
}

/**
 * A vitest suite with one test per check. vitest is loaded here, not when '@gbp/core/testing' is
 * imported, so the module works without it; await the call at the top of a test file:
 *
 *     await describePrunerConformance(pruner, { expectedSparsity: 'linear' });
 */
export async function describePrunerConformance(def: AnyPrunerDefinition, options: ConformanceOptions & { timeoutMs?: number }): Promise<void> {
  let vitest: typeof Vitest;
  try {
    vitest = await import('vitest');
  } catch (error) {
    throw new Error(`describePrunerConformance needs vitest (an optional peer of @gbp/core): install it, or call checkPrunerConformance from your test framework (${(error as Error).message})`);
  }
  const checks = conformanceChecks(def, options);
  vitest.describe(`pruner ${def.name} conformance`, () => {
    for (const check of checks) {
      if (check.skip !== undefined) {
        vitest.it.skip(`${check.name}: ${check.description} (skipped: ${check.skip})`, () => undefined);
        continue;
      }
      vitest.it(`${check.name}: ${check.description}`, async () => {
        try {
          await check.run();
        } catch (error) {
          throw new ConformanceError(def.name, check.name, error instanceof Error ? error.message : String(error));
        }
      }, options.timeoutMs ?? 120_000);
    }
  });
}
