#!/usr/bin/env node
// @ts-check
/**
 * What tfjs-wasm's multithreaded build (XNNPACK's thread pool; tfjs turns it off on Node, tfjs#3830)
 * gives gbp on Node: training throughput, inference latency and whether the numbers change, for the
 * stock single-threaded SIMD build gbp uses (the reference) and the threaded SIMD build at each
 * thread count (a benchmark, not a test). Uses core's machinery through '@gbp/core/internal', so it
 * needs core's dist (npm run bench:wasm-threads builds it):
 *
 *   node tools/bench/wasm-threads.mjs [--sizes tiny,small] [--threads 1,2] [--batch 32] [--seq 128]
 *        [--micro N] [--steps 3] [--warmup 1] [--infer-batch 8] [--infer-runs 5] [--json]
 *   (npm run bench:wasm-threads -- --sizes tiny --steps 1)
 *
 * Each configuration (size x build x threads) runs in a child process of its own: the thread pool is
 * fixed when the backend starts. The threaded build is started by threaded-wasm.mjs (its header
 * says what stops it on Node and what is patched at run time); gbp's own wasm kernels (initBackend
 * registers them; JS over the heap and cwrap'd exports, which the threaded module has too) run on
 * both builds, so the comparison is like for like. A child exits non-zero, and so does this script,
 * when the build it asked for is not the one running: the threaded module must report the thread
 * count asked for (get_threads_count) with that many pool workers running, the stock one 1 thread.
 *
 * Training: mean wall time of Trainer.trainStep (the real optimizer step, as tools/bench/throughput.mjs
 * runs it: micro-batches, gradient accumulation, clipping, AdamW, dropout 0.1, seed 42) on one
 * synthetic batch of full-length sequences (tokens = B·T), after the warm-up steps; tokens/s;
 * cpu/wall = process CPU time / wall time over the timed steps (how many cores were busy).
 * Inference: median latency of InferenceModel.random(config, seed 0).logits (plain weights, no
 * masks, dropout off) for a batch of 8 x 128, after one warm-up call.
 * Matmul: a 1024³ matmul's GFLOP/s (measureMatmulGflops) in the same child, the pool's ceiling.
 * Ratios are against the stock build of the same size ("x simd") and the threaded build at 1 thread.
 * Equality: each threaded configuration's logits (the warm-up call's) and per-step losses (warm-up
 * included, same data and dropout seed) against the stock build's, bit for bit, else max |difference|.
 * The machine's load average is printed before and after: on a shared machine, compare ratios.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  InferenceModel,
  Rng,
  autoMicroBatchSize,
  initBackend,
  measureMatmulGflops,
  registerWasmKernels,
  resolveModelConfig,
  tf,
} from '@gbp/core/internal';
import { NUM_LABELS, benchTrainer, cpuMs, oneBatch, syntheticExamples } from './workload.mjs';
import { assertSingleThreaded, assertThreads, disposeWasmBackend, enableThreadedWasm } from './threaded-wasm.mjs';

/**
 * @typedef {import('@gbp/core').ModelSize} ModelSize
 * @typedef {{ size: ModelSize, build: 'simd' | 'threaded', threads: number }} Configuration
 * @typedef {{ batch: number, seq: number, micro?: number, steps: number, warmup: number, inferBatch: number, inferRuns: number }} Workload
 * @typedef {{
 *   config: Configuration,
 *   matmul_gflops: number,
 *   training: { batch: number, seq_len: number, micro_batch: number, ms_per_step: number, ms_per_step_min: number,
 *               ms_per_step_max: number, tokens_per_s: number, cpu_per_wall: number, losses: number[] },
 *   inference: { batch: number, seq_len: number, runs: number, latency_ms_median: number, latency_ms_min: number,
 *                tokens_per_s: number, cpu_per_wall: number, logits: number[] },
 *   leaked_tensors: number,
 * }} ChildResult
 */

const RESULT_PREFIX = 'wasm-threads-result ';
const SCRIPT = fileURLToPath(import.meta.url);

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: 'tiny,small' },
    threads: { type: 'string', default: '1,2' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string', default: '128' },
    micro: { type: 'string' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'infer-batch': { type: 'string', default: '8' },
    'infer-runs': { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    // Internal: the configuration a child process measures (JSON).
    child: { type: 'string' },
  },
});

/** @param {string} s */
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** @param {string} name @param {string | undefined} value @param {number} min */
function intArg(name, value, min) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`wasm-threads bench: --${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/** @param {ModelSize} size @param {Workload} w */
async function benchTraining(size, w) {
  const config = resolveModelConfig({ size, max_len: Math.max(w.seq, 128) }, NUM_LABELS);
  const examples = syntheticExamples(w.batch, w.seq, config.vocab_size, Rng.derive(7, `throughput-${size}-${w.seq}`));
  const batch = oneBatch(examples);
  // The trainer's own default on wasm, as throughput.mjs: the largest micro-batch whose step fits the heap.
  const micro = w.micro ?? autoMicroBatchSize(config, w.seq, w.batch);
  const { trainer, dispose } = benchTrainer(config, examples, w.batch, micro);
  try {
    const losses = [];
    for (let i = 0; i < w.warmup; i++) losses.push(await trainer.trainStep(batch));
    const times = [];
    const c0 = cpuMs();
    for (let i = 0; i < w.steps; i++) {
      const t0 = performance.now();
      losses.push(await trainer.trainStep(batch));
      times.push(performance.now() - t0);
    }
    const cpu = cpuMs() - c0;
    const wall = times.reduce((a, b) => a + b, 0);
    const msPerStep = wall / times.length;
    return {
      batch: w.batch, seq_len: w.seq, micro_batch: micro,
      ms_per_step: msPerStep, ms_per_step_min: Math.min(...times), ms_per_step_max: Math.max(...times),
      tokens_per_s: (batch.tokens * 1000) / msPerStep, cpu_per_wall: cpu / wall, losses,
    };
  } finally {
    dispose();
  }
}

/** @param {ModelSize} size @param {Workload} w */
function benchInference(size, w) {
  const T = w.seq;
  const config = resolveModelConfig({ size, max_len: Math.max(T, 128) }, NUM_LABELS);
  const batch = oneBatch(syntheticExamples(w.inferBatch, T, config.vocab_size, Rng.derive(7, `infer-${size}`)));
  const model = InferenceModel.random(config, 0);
  try {
    /** @returns {{ ms: number, logits: number[] }} */
    const once = () => {
      const t0 = performance.now();
      const logits = model.logits(batch);
      const values = logits.dataSync();
      logits.dispose();
      return { ms: performance.now() - t0, logits: Array.from(values) };
    };
    const { logits } = once(); // warm-up (XNNPACK packs the weights on the first call)
    const c0 = cpuMs();
    const times = Array.from({ length: w.inferRuns }, () => once().ms);
    const cpu = cpuMs() - c0;
    const wall = times.reduce((a, b) => a + b, 0);
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
    return {
      batch: w.inferBatch, seq_len: T, runs: w.inferRuns, latency_ms_median: median, latency_ms_min: times[0] ?? Number.NaN,
      tokens_per_s: (w.inferBatch * T * 1000) / median, cpu_per_wall: cpu / wall, logits,
    };
  } finally {
    model.dispose();
  }
}

/**
 * The child: starts the build asked for, checks it is the one running, measures, prints one result line.
 * @param {Configuration} config @param {Workload} workload
 */
async function child(config, workload) {
  // A pool that outlives the backend keeps Node running (obstacle 4): say so rather than hang.
  const exitWatch = () =>
    setTimeout(() => {
      process.stderr.write(`wasm-threads bench: ${describe(config)} still running 10 s after disposing the wasm backend (its thread pool keeps Node alive)\n`);
      process.exit(4);
    }, 10_000).unref();
  try {
    if (config.build === 'threaded') {
      const patch = await enableThreadedWasm(config.threads);
      try {
        await initBackend('wasm');
      } finally {
        patch.restore();
      }
      await assertThreads(config.threads);
    } else {
      await initBackend('wasm');
      await assertSingleThreaded();
    }
    // Like for like: gbp's wasm kernels (registered by initBackend) run on both builds.
    const unregistered = registerWasmKernels();
    if (unregistered.length > 0) throw new Error(`wasm-threads bench: gbp's wasm kernels ${unregistered.join(', ')} were not registered on ${describe(config)}`);
    const numTensors0 = tf.memory().numTensors;
    const matmul = await measureMatmulGflops({ minTimeMs: 1000 });
    const training = await benchTraining(config.size, workload);
    const inference = benchInference(config.size, workload);
    // Checked again after the work: the pool must not have shrunk or been replaced.
    if (config.build === 'threaded') await assertThreads(config.threads);
    /** @type {ChildResult} */
    const result = { config, matmul_gflops: matmul.gflops, training, inference, leaked_tensors: tf.memory().numTensors - numTensors0 };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  } finally {
    disposeWasmBackend();
    exitWatch();
  }
}

/** @param {Configuration} c */
const describe = (c) => `${c.size} ${c.build === 'simd' ? 'stock SIMD build (1 thread)' : `threaded SIMD build, ${c.threads} thread(s)`}`;

/**
 * Runs one configuration in a child process; its progress and errors go to this stderr.
 * @param {Configuration} config @param {Workload} workload
 * @returns {Promise<ChildResult>}
 */
function runChild(config, workload) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SCRIPT, '--child', JSON.stringify({ config, workload })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || line == null) {
        reject(new Error(`wasm-threads bench: ${describe(config)} failed (${signal ?? `exit code ${code}`}${line == null ? ', no result' : ''}); its error is above`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
    });
  });
}

/**
 * Bit-for-bit comparison of two float lists (float32 values, exact through JSON).
 * @param {number[]} a @param {number[]} b
 */
function compare(a, b) {
  if (a.length !== b.length) return { identical: false, max_abs_diff: Number.NaN, note: `lengths ${a.length} and ${b.length}` };
  let max = 0;
  let identical = true;
  a.forEach((x, i) => {
    const y = /** @type {number} */ (b[i]);
    if (!Object.is(x, y)) identical = false;
    max = Math.max(max, Math.abs(x - y));
  });
  return { identical, max_abs_diff: max };
}

async function parent() {
  const sizes = /** @type {ModelSize[]} */ (list(args.sizes));
  const threadCounts = list(args.threads).map((t) => intArg('threads', t, 1));
  /** @type {Workload} */
  const workload = {
    batch: intArg('batch', args.batch, 1),
    seq: intArg('seq', args.seq, 2),
    ...(args.micro != null ? { micro: intArg('micro', args.micro, 1) } : {}),
    steps: intArg('steps', args.steps, 1),
    warmup: intArg('warmup', args.warmup, 0),
    inferBatch: intArg('infer-batch', args['infer-batch'], 1),
    inferRuns: intArg('infer-runs', args['infer-runs'], 1),
  };
  // Refuse unknown sizes before any child starts.
  for (const size of sizes) {
    try {
      resolveModelConfig({ size, max_len: Math.max(workload.seq, 128) }, NUM_LABELS);
    } catch (error) {
      throw new Error(`wasm-threads bench: --sizes: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const load0 = loadavg();
  const log = (/** @type {string} */ s) => void (args.json ? process.stderr.write(`${s}\n`) : console.log(s));
  log(`load average before: ${load0.map((x) => x.toFixed(2)).join(' ')}`);

  /** @type {ChildResult[]} */
  const results = [];
  for (const size of sizes) {
    /** @type {Configuration[]} */
    const configs = [{ size, build: 'simd', threads: 1 }, ...threadCounts.map((threads) => /** @type {Configuration} */ ({ size, build: 'threaded', threads }))];
    for (const config of configs) {
      log(`running ${describe(config)} ...`);
      results.push(await runChild(config, workload));
    }
  }
  const load1 = loadavg();

  const rows = results.map((r) => {
    const ref = results.find((x) => x.config.size === r.config.size && x.config.build === 'simd');
    const t1 = results.find((x) => x.config.size === r.config.size && x.config.build === 'threaded' && x.config.threads === 1);
    return {
      ...r,
      train_vs_simd: ref ? r.training.tokens_per_s / ref.training.tokens_per_s : Number.NaN,
      train_vs_threaded1: t1 ? r.training.tokens_per_s / t1.training.tokens_per_s : Number.NaN,
      infer_vs_simd: ref ? ref.inference.latency_ms_median / r.inference.latency_ms_median : Number.NaN,
      infer_vs_threaded1: t1 ? t1.inference.latency_ms_median / r.inference.latency_ms_median : Number.NaN,
      logits_vs_simd: ref ? compare(r.inference.logits, ref.inference.logits) : undefined,
      losses_vs_simd: ref ? compare(r.training.losses, ref.training.losses) : undefined,
    };
  });

  if (args.json) {
    console.log(JSON.stringify({ workload, load_average: { before: load0, after: load1 }, results: rows }, null, 2));
    return;
  }
  const pad = (/** @type {string | number} */ s, /** @type {number} */ n) => String(s).padStart(n);
  const label = (/** @type {Configuration} */ c) => `${c.size.padEnd(6)}${(c.build === 'simd' ? 'simd' : 'threaded').padEnd(9)}${pad(c.threads, 7)}`;
  const ratio = (/** @type {number} */ x) => (Number.isNaN(x) ? '-' : `${x.toFixed(2)}x`);
  console.log(`\nTraining: Trainer.trainStep, batch ${workload.batch} x ${workload.seq}, ${workload.warmup} warm-up + ${workload.steps} timed steps (mean)`);
  console.log(`${'size'.padEnd(6)}${'build'.padEnd(9)}${pad('threads', 7)}${pad('micro', 6)}${pad('ms/step', 9)}${pad('tokens/s', 10)}${pad('cpu/wall', 9)}${pad('x simd', 8)}${pad('x thr1', 8)}${pad('matmul', 8)}`);
  for (const r of rows) {
    console.log(
      `${label(r.config)}${pad(r.training.micro_batch, 6)}${pad(r.training.ms_per_step.toFixed(0), 9)}${pad(r.training.tokens_per_s.toFixed(0), 10)}` +
        `${pad(r.training.cpu_per_wall.toFixed(2), 9)}${pad(ratio(r.train_vs_simd), 8)}${pad(ratio(r.train_vs_threaded1), 8)}${pad(r.matmul_gflops.toFixed(1), 8)}`,
    );
  }
  console.log(`\nInference: InferenceModel.random(config, 0).logits (no masks), batch ${workload.inferBatch} x ${workload.seq}, median of ${workload.inferRuns} after 1 warm-up`);
  console.log(`${'size'.padEnd(6)}${'build'.padEnd(9)}${pad('threads', 7)}${pad('ms', 9)}${pad('tokens/s', 10)}${pad('cpu/wall', 9)}${pad('x simd', 8)}${pad('x thr1', 8)}`);
  for (const r of rows) {
    console.log(
      `${label(r.config)}${pad(r.inference.latency_ms_median.toFixed(1), 9)}${pad(r.inference.tokens_per_s.toFixed(0), 10)}` +
        `${pad(r.inference.cpu_per_wall.toFixed(2), 9)}${pad(ratio(r.infer_vs_simd), 8)}${pad(ratio(r.infer_vs_threaded1), 8)}`,
    );
  }
  console.log('\nAgainst the stock SIMD build (same data, seeds and dropout):');
  for (const r of rows.filter((x) => x.config.build === 'threaded')) {
    const say = (/** @type {ReturnType<typeof compare> | undefined} */ c) => (c == null ? '-' : c.identical ? 'bit-identical' : `max |diff| ${c.max_abs_diff.toExponential(2)}`);
    console.log(`${label(r.config)}  logits (${r.inference.logits.length} values): ${say(r.logits_vs_simd)}; losses (${r.training.losses.length} steps): ${say(r.losses_vs_simd)}`);
  }
  const leaks = rows.filter((r) => r.leaked_tensors !== 0).map((r) => `${describe(r.config)}: ${r.leaked_tensors}`);
  console.log(`\nmatmul = 1024³ GFLOP/s in the same process; cpu/wall = busy cores over the timed part. Load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}.`);
  if (leaks.length > 0) console.log(`tensors leaked: ${leaks.join('; ')}`);
}

try {
  if (args.child != null) {
    const { config, workload } = /** @type {{ config: Configuration, workload: Workload }} */ (JSON.parse(args.child));
    await child(config, workload);
  } else {
    await parent();
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
