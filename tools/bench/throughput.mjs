#!/usr/bin/env node
// @ts-check
/**
 * Training throughput and inference latency of gbp's model on a TF.js backend (a benchmark, not a
 * test). Uses core's machinery through '@gbp/core/internal', so it needs core's dist
 * (npm run bench:throughput builds it):
 *
 *   node tools/bench/throughput.mjs [--backend wasm] [--threads 1,2] [--compare] [--sizes tiny,small]
 *        [--seq 64,128] [--batch 32] [--micro N] [--steps 3] [--warmup 1] [--infer-sizes tiny,small,base]
 *        [--infer-batch 8] [--infer-seq 128] [--profile] [--json]
 *   (npm run bench:throughput -- --threads 1,2 --compare)
 *
 * --threads 1,2  measures every row at each thread count, in this one run (default: GBP_THREADS, else
 * every core). A job's threads are data-parallel replicas on worker threads (train.threads): each
 * step's rows are cut into one shard per thread, each thread with its own wasm instance; inference
 * splits the batch's rows the same way. Every row says its backend and threads; rows at more than one
 * thread also give the ratio to the same row at one thread, when that was measured in this run.
 * --compare  prints PyTorch's figures on this machine beside gbp's (constants: see PYTORCH below).
 *
 * Micro-batch: --micro, else the trainer's default (per thread's shard): on wasm autoMicroBatchSize (the whole batch, or
 * the largest power of two, whose estimated step (weights, moments, gradients, activations) fits 90%
 * of the 4 GB heap: tiny 32 at T=64 and 128; small 16 at T=64, 8 at T=128), elsewhere the whole batch; the table shows which was used. Gradients are accumulated over the micro-batches of each 32-example step.
 *
 * Training: the real optimizer step runJob uses (Trainer.trainStep: micro-batched forward/backward
 * w.r.t. W⊙M, gradient accumulation, dW = dEff⊙M, global-norm clipping, AdamW with masked update,
 * dropout 0.1) on synthetic batches of full-length sequences (every token real, so tokens = B·T).
 * Warm-up steps are excluded; the timed steps are averaged.
 *
 * FLOPs per token (forward + backward = 3x forward; a multiply-add is 2 FLOPs):
 *   6·N_mm + 12·L·T·d, with
 *   N_mm = L·(4·d² + 2·d·dff) + (d² + d·labels)/T   matmul parameters used per token (the encoder's
 *          gated Q/K/V/O and FFN matrices; pooler and classifier run once per sequence),
 *   12·L·T·d                                        attention scores Q·Kᵀ and context P·V
 *                                                   (2·T·d each per token, forward, x3).
 * Embedding gathers, softmax, GELU, LayerNorm, dropout and the optimizer are not counted: they are
 * the overhead that lowers efficiency. Achieved GFLOP/s = FLOPs/token x tokens/s; training efficiency
 * = achieved GFLOP/s / the same backend's 1024³ matmul GFLOP/s (measureMatmulGflops, same process,
 * measured again right before each row's timed steps). The machine is shared, so every figure is also
 * taken in process CPU time (eff(cpu) = training FLOPs per CPU-second / matmul FLOPs per CPU-second),
 * which other processes disturb much less than wall-clock time; the load average is printed.
 *
 * Inference: latency of one forward pass of a batch of 8 x 128 tokens through InferenceModel.predict
 * (what gbp infer and gbp bench run: plain weights, no masks, dropout off; logits read back), with
 * the model's random init; median of the timed runs after one warm-up.
 *
 * --profile  prints per-kernel time (tf.profile) of one training step per configuration.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { NUM_LABELS, benchTrainer, cpuMs, oneBatch, syntheticExamples } from './workload.mjs';
import {
  InferenceModel,
  ReplicaPool,
  defaultThreads,
  Rng,
  autoMicroBatchSize,
  initBackend,
  measureMatmulGflops,
  resolveModelConfig,
  tf,
} from '@gbp/core/internal';

/**
 * @typedef {import('@gbp/core').ModelSize} ModelSize
 * @typedef {import('@gbp/core/internal').ModelConfig} ModelConfig
 * @typedef {import('@gbp/core/internal').Batch} Batch
 * @typedef {import('@gbp/core/internal').Trainer} Trainer
 */

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    compare: { type: 'boolean', default: false },
    sizes: { type: 'string', default: 'tiny,small' },
    seq: { type: 'string', default: '64,128' },
    batch: { type: 'string', default: '32' },
    micro: { type: 'string' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'infer-sizes': { type: 'string', default: 'tiny,small,base' },
    'infer-batch': { type: 'string', default: '8' },
    'infer-seq': { type: 'string', default: '128' },
    'infer-runs': { type: 'string', default: '5' },
    'matmul-time': { type: 'string', default: '2000' },
    profile: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
/**
 * PyTorch on this machine (2 vCPU AMD EPYC, 24 GB), as filed in issue 13 ("Speed: one job on every
 * core"): PyTorch with OpenBLAS (Debian's python3-torch 1.13) on the same model shapes, tokens/s of a
 * training step and ms of a forward pass of 8 x 128; onnxruntime-node's inference beside it. Constants,
 * not measured by this script.
 */
const PYTORCH = {
  where: 'PyTorch 1.13 + OpenBLAS (Debian python3-torch) on this 2-vCPU AMD EPYC machine, as filed in issue 13',
  training_tokens_per_s: { tiny: { 1: 8464, 2: 11373 }, small: { 1: 848, 2: 1529 } },
  inference_ms_8x128: { threads: 2, tiny: 17, small: 167, base: 1012 },
  onnxruntime_ms_8x128: { threads: 2, tiny: 7.7, small: 76, base: 431 },
};

const list = (/** @type {string} */ s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const batchSize = Number(args.batch);
const threadCounts = args.threads ? list(args.threads).map(Number) : [defaultThreads()];
for (const n of threadCounts) if (!Number.isInteger(n) || n < 1) throw new Error(`--threads: expected positive integers, got '${args.threads}'`);
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const log = (/** @type {unknown[]} */ ...xs) => {
  if (!args.json) console.log(...xs);
};

/** @param {ModelConfig} c @param {number} T */
function flopsPerToken(c, T) {
  const L = c.num_layers;
  const d = c.d_model;
  const matmulParams = L * (4 * d * d + 2 * d * c.dff) + (d * d + d * NUM_LABELS) / T;
  return 6 * matmulParams + 12 * L * T * d;
}

/** @param {Trainer} trainer @param {Batch} batch */
async function profileStep(trainer, batch) {
  const info = await tf.profile(() => trainer.trainStep(batch));
  const byKernel = new Map();
  for (const k of info.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    entry.calls += 1;
    byKernel.set(k.name, entry);
  }
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  return { totalKernelMs: total, kernels: [...byKernel].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms) };
}

/**
 * The 1024³ reference: measureMatmulGflops (wall clock), then the same product timed in process CPU
 * time, which a busy machine disturbs less (the efficiency is reported both ways).
 */
async function matmulReference() {
  const wall = await measureMatmulGflops({ minTimeMs: Number(args['matmul-time']) });
  const [a, b] = [tf.randomUniform([1024, 1024], -1, 1), tf.randomUniform([1024, 1024], -1, 1)];
  // Best of five chunks: process CPU time counts every thread, and a garbage collection of the
  // previous configuration running meanwhile would otherwise inflate the reference's CPU time.
  const perChunk = Math.max(2, Math.round(wall.iterations / 5));
  let cpu = 0;
  for (let chunk = 0; chunk < 5; chunk++) {
    const c0 = cpuMs();
    for (let i = 0; i < perChunk; i++) {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    }
    cpu = Math.max(cpu, (2 * 1024 ** 3 * perChunk) / ((cpuMs() - c0) * 1e6));
  }
  tf.dispose([a, b]);
  return { gflops: wall.gflops, cpu_gflops: cpu, iterations: wall.iterations, ms: wall.msPerMatmul };
}

/**
 * Replicas for `threads` threads (none for one), on the backend in use.
 * @param {ModelConfig} config @param {number} threads
 */
async function startReplicas(config, threads) {
  if (threads <= 1) return undefined;
  return ReplicaPool.start({ config, backend: /** @type {'wasm' | 'cpu'} */ (tf.getBackend()), count: threads - 1 });
}

/** Load average over the last minute. */
const load1 = () => loadavg()[0] ?? Number.NaN;

/** @param {ModelSize} size @param {number} T @param {number} threads */
async function benchTraining(size, T, threads) {
  const config = resolveModelConfig({ size, max_len: Math.max(T, 128) }, NUM_LABELS);
  const rng = Rng.derive(7, `throughput-${size}-${T}`);
  const examples = syntheticExamples(batchSize, T, config.vocab_size, rng);
  const batch = oneBatch(examples);
  // The trainer's own default when --micro is not given (split only on wasm, per thread's shard); shown in the table.
  const shardRows = Math.ceil(batchSize / threads);
  const micro = args.micro ? Number(args.micro) : tf.getBackend() === 'wasm' ? autoMicroBatchSize(config, T, shardRows) : shardRows;
  const replicas = await startReplicas(config, threads);
  const { trainer, dispose } = benchTrainer(config, examples, batchSize, args.micro ? micro : undefined, replicas);
  try {
    for (let i = 0; i < warmup; i++) await trainer.trainStep(batch);
    // The reference right before the timed steps: the machine's load drifts between configurations.
    const ref = await matmulReference();
    const times = [];
    const c0 = cpuMs();
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await trainer.trainStep(batch);
      times.push(performance.now() - t0);
    }
    // Process CPU time counts every thread's work.
    const cpuPerStep = (cpuMs() - c0) / steps;
    const msPerStep = times.reduce((a, b) => a + b, 0) / times.length;
    const tokensPerS = (batch.tokens * 1000) / msPerStep;
    const fpt = flopsPerToken(config, T);
    const gflops = (fpt * tokensPerS) / 1e9;
    const cpuGflops = (fpt * batch.tokens) / (cpuPerStep * 1e6);
    const profile = args.profile && threads === 1 ? await profileStep(trainer, batch) : undefined;
    return {
      size, threads, backend: tf.getBackend(), batch: batchSize, seq_len: T, micro_batch: micro, steps, warmup_steps: warmup,
      ms_per_step: msPerStep, ms_per_step_min: Math.min(...times), ms_per_step_max: Math.max(...times), cpu_ms_per_step: cpuPerStep,
      tokens_per_s: tokensPerS, flops_per_token: fpt, gflops, matmul_gflops: ref.gflops,
      // Against one thread's matmul speed times the threads: what perfect scaling would reach.
      efficiency: gflops / (ref.gflops * threads),
      cpu_gflops: cpuGflops, matmul_cpu_gflops: ref.cpu_gflops, cpu_efficiency: cpuGflops / ref.cpu_gflops,
      load_average: load1(),
      ...(profile ? { profile } : {}),
    };
  } finally {
    dispose();
    await replicas?.close();
  }
}

/** @param {ModelSize} size @param {number} B @param {number} T @param {number} runs @param {number} threads */
async function benchInference(size, B, T, runs, threads) {
  const config = resolveModelConfig({ size, max_len: Math.max(T, 128) }, NUM_LABELS);
  const examples = syntheticExamples(B, T, config.vocab_size, Rng.derive(7, `infer-${size}`));
  const batch = oneBatch(examples);
  const model = InferenceModel.random(config, 42);
  try {
    await model.useThreads(threads);
    const once = async () => {
      const t0 = performance.now();
      await model.predict(batch);
      return performance.now() - t0;
    };
    await once(); // warm-up
    const times = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
    return { size, threads: model.threads, backend: tf.getBackend(), batch: B, seq_len: T, runs, latency_ms_median: median, latency_ms_min: times[0], tokens_per_s: (B * T * 1000) / median };
  } finally {
    model.dispose();
  }
}

const backend = await initBackend(/** @type {import('@gbp/core').BackendName} */ (args.backend));
const numTensors0 = tf.memory().numTensors;
const load0 = loadavg();
log(`backend ${backend.name} (${backend.reason}); load average ${load0.map((x) => x.toFixed(2)).join(' ')}`);
const matmul = await matmulReference();
log(`large matmul (1024³, no transpose flags): ${matmul.gflops.toFixed(1)} GFLOP/s wall, ${matmul.cpu_gflops.toFixed(1)} per CPU-second\n`);

const training = [];
for (const size of /** @type {ModelSize[]} */ (list(args.sizes))) {
  for (const T of list(args.seq).map(Number)) {
    for (const threads of threadCounts) {
      const r = await benchTraining(size, T, threads);
      training.push(r);
      log(
        `train ${size.padEnd(5)} B=${r.batch} T=${String(T).padEnd(3)} ${r.backend} threads ${r.threads} micro=${String(r.micro_batch).padEnd(2)} ` +
          `${r.ms_per_step.toFixed(0).padStart(6)} ms/step  ${r.tokens_per_s.toFixed(0).padStart(6)} tok/s  ` +
          `${r.gflops.toFixed(1).padStart(5)} GFLOP/s  matmul ${r.matmul_gflops.toFixed(1)}  eff ${r.efficiency.toFixed(2)}  load ${r.load_average.toFixed(1)}`,
      );
      if (r.profile && !args.json) {
        log(`  profile (one step, ${r.profile.totalKernelMs.toFixed(0)} ms in kernels):`);
        for (const k of r.profile.kernels.slice(0, 15)) {
          log(`    ${k.name.padEnd(22)} ${k.ms.toFixed(1).padStart(8)} ms ${String(k.calls).padStart(6)} calls ${((100 * k.ms) / r.profile.totalKernelMs).toFixed(1).padStart(5)}%`);
        }
      }
    }
  }
}

const inference = [];
for (const size of /** @type {ModelSize[]} */ (list(args['infer-sizes']))) {
  for (const threads of threadCounts) {
    const r = await benchInference(size, Number(args['infer-batch']), Number(args['infer-seq']), Number(args['infer-runs']), threads);
    inference.push(r);
    log(`infer ${size.padEnd(5)} ${r.batch}x${r.seq_len} ${r.backend} threads ${r.threads} ${r.latency_ms_median.toFixed(1).padStart(8)} ms`);
  }
}

/**
 * The same row at one thread, when measured in this run.
 * @template {{ size: string; threads: number; seq_len: number }} R
 * @param {R[]} rows @param {R} r
 */
const oneThreadOf = (rows, r) => rows.find((o) => o.size === r.size && o.seq_len === r.seq_len && o.threads === 1);
const pytorchTraining = (/** @type {{ size: string; threads: number }} */ r) =>
  /** @type {Record<string, Record<number, number>>} */ (PYTORCH.training_tokens_per_s)[r.size]?.[r.threads];
const pytorchInference = (/** @type {string} */ size) => /** @type {Record<string, number>} */ (/** @type {unknown} */ (PYTORCH.inference_ms_8x128))[size];
const ortInference = (/** @type {string} */ size) => /** @type {Record<string, number>} */ (/** @type {unknown} */ (PYTORCH.onnxruntime_ms_8x128))[size];

const leaked = tf.memory().numTensors - numTensors0;
if (args.json) {
  console.log(JSON.stringify({ backend, threads: threadCounts, load_average: { start: load0, end: loadavg() }, matmul, training, inference, ...(args.compare ? { pytorch: PYTORCH } : {}), leaked_tensors: leaked }, null, 2));
} else {
  const pad = (/** @type {string | number} */ s, /** @type {number} */ n) => String(s).padStart(n);
  const ratio = (/** @type {number | undefined} */ x) => (x === undefined || !Number.isFinite(x) ? '' : `${x.toFixed(2)}x`);
  console.log(`\nTraining (batch ${batchSize}; ${warmup} warm-up + ${steps} timed steps; FLOPs/token = 6·N_mm + 12·L·T·d)`);
  console.log(
    `${'size'.padEnd(6)}${pad('T', 4)}${pad('backend', 8)}${pad('threads', 11)}${pad('micro', 6)}${pad('ms/step', 9)}${pad('tokens/s', 10)}${pad('vs 1 thr', 9)}` +
      `${pad('GFLOP/s', 9)}${pad('matmul', 8)}${pad('eff', 6)}${pad('eff(cpu)', 10)}${args.compare ? `${pad('PyTorch', 9)}${pad('gbp/PT', 8)}` : ''}`,
  );
  for (const r of training) {
    const one = oneThreadOf(training, r);
    const pt = pytorchTraining(r);
    console.log(
      `${r.size.padEnd(6)}${pad(r.seq_len, 4)}${pad(r.backend, 8)}${pad(`threads ${r.threads}`, 11)}${pad(r.micro_batch, 6)}${pad(r.ms_per_step.toFixed(0), 9)}${pad(r.tokens_per_s.toFixed(0), 10)}` +
        `${pad(r.threads > 1 && one ? ratio(r.tokens_per_s / one.tokens_per_s) : '', 9)}` +
        `${pad(r.gflops.toFixed(1), 9)}${pad(r.matmul_gflops.toFixed(1), 8)}${pad(r.efficiency.toFixed(2), 6)}${pad(r.cpu_efficiency.toFixed(2), 10)}` +
        `${args.compare ? `${pad(pt ?? '-', 9)}${pad(pt ? ratio(r.tokens_per_s / pt) : '', 8)}` : ''}`,
    );
  }
  console.log(`\nInference (one forward pass through InferenceModel.predict, median of ${args['infer-runs']})`);
  console.log(
    `${'size'.padEnd(6)}${pad('batch', 6)}${pad('T', 5)}${pad('backend', 8)}${pad('threads', 10)}${pad('ms', 9)}${pad('tokens/s', 10)}${pad('vs 1 thr', 9)}` +
      `${args.compare ? `${pad(`PyTorch x${PYTORCH.inference_ms_8x128.threads}`, 12)}${pad('gbp/PT', 8)}${pad(`ORT x${PYTORCH.onnxruntime_ms_8x128.threads}`, 8)}` : ''}`,
  );
  for (const r of inference) {
    const one = oneThreadOf(inference, r);
    const shapeMatches = r.batch === 8 && r.seq_len === 128;
    const pt = shapeMatches ? pytorchInference(r.size) : undefined;
    const ort = shapeMatches ? ortInference(r.size) : undefined;
    console.log(
      `${r.size.padEnd(6)}${pad(r.batch, 6)}${pad(r.seq_len, 5)}${pad(r.backend, 8)}${pad(`threads ${r.threads}`, 10)}${pad(r.latency_ms_median.toFixed(1), 9)}${pad(r.tokens_per_s.toFixed(0), 10)}` +
        `${pad(r.threads > 1 && one ? ratio(one.latency_ms_median / r.latency_ms_median) : '', 9)}` +
        `${args.compare ? `${pad(pt ?? '-', 12)}${pad(pt ? ratio(r.latency_ms_median / pt) : '', 8)}${pad(ort ?? '-', 8)}` : ''}`,
    );
  }
  if (args.compare) console.log(`\nPyTorch / ORT columns: ${PYTORCH.where} (constants, not measured by this run). gbp/PT: gbp's time over PyTorch's for inference, tokens/s over PyTorch's for training.`);
  console.log(`\nmatmul (1024³, one thread) at start ${matmul.gflops.toFixed(1)} GFLOP/s (${matmul.cpu_gflops.toFixed(1)} per CPU-s); 'matmul' = the reference measured just before each row's timed steps.`);
  console.log(`eff = GFLOP/s / (matmul x threads) (wall clock); eff(cpu) = GFLOP per CPU-second of all threads / matmul's. Load average ${(load0[0] ?? Number.NaN).toFixed(1)} -> ${load1().toFixed(1)}; tensors leaked: ${leaked}`);
}
