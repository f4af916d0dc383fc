#!/usr/bin/env node
// @ts-check
/**
 * Pruning benchmark (not a test): trains the tiny model on SST-2 with no pruner (baseline) and with
 * magnitude, movement and SPT pruning to 90% sparsity, and prints validation accuracy, sparsity and
 * wall time per method. Each method runs in its own process (the TF.js engine is global), at most
 * --parallel at a time. Needs built packages (npm run bench:prune builds them) and
 * ../shared/data/glue/sst2 (or GBP_DATA_DIR).
 *
 *   node tools/bench/prune.mjs [--methods baseline,magnitude,movement,spt] [--epochs 4] [--train 20000]
 *                              [--sparsity 0.9] [--parallel 2] [--max-len 64] [--lr 1e-3] [--backend wasm] [--out DIR]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    methods: { type: 'string', default: 'baseline,magnitude,movement,spt' },
    epochs: { type: 'string', default: '4' },
    train: { type: 'string', default: '20000' },
    sparsity: { type: 'string', default: '0.9' },
    parallel: { type: 'string', default: '2' },
    'max-len': { type: 'string', default: '64' },
    lr: { type: 'string', default: '1e-3' },
    batch: { type: 'string', default: '32' },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string' },
    // Internal: run one method in this process and print its result as JSON.
    'one-method': { type: 'string' },
  },
});

const dataDir = process.env.GBP_DATA_DIR ?? join(root, '..', 'shared', 'data', 'glue');
if (!existsSync(join(dataDir, 'sst2', 'train.jsonl'))) {
  console.error(`prune bench: no SST-2 data at ${join(dataDir, 'sst2')} (set GBP_DATA_DIR)`);
  process.exit(2);
}
const outDir = args.out ?? join(tmpdir(), `gbp-prune-bench-${Date.now()}`);
const epochs = Number(args.epochs);

if (args['one-method']) {
  await runOne(args['one-method']);
} else {
  await runAll();
}

/** @param {string} method */
async function runOne(method) {
  const { resolveJobSpec, runJob } = await import('@gbp/core');
  const spec = resolveJobSpec({
    id: `prune-bench-${method}`,
    task: 'sst2',
    method,
    backend: /** @type {import('@gbp/core').BackendName} */ (args.backend), // resolveJobSpec checks it
    model: { size: 'tiny', max_len: Number(args['max-len']) },
    train: {
      epochs,
      batch_size: Number(args.batch),
      learning_rate: Number(args.lr),
      seed: Number(args.seed),
      max_train_examples: Number(args.train),
      checkpoint_every_epoch: false,
    },
    // Prune over all but the last epoch, which fine-tunes at the final sparsity.
    pruning: { start_sparsity: 0, end_sparsity: Number(args.sparsity), start_epoch: 1, end_epoch: Math.max(1, epochs - 1) },
    data: { dir: dataDir, source: 'local', offline: true },
    output_dir: join(outDir, method),
  });
  const t0 = Date.now();
  let lastPrint = 0;
  const result = await runJob(spec, (event) => {
    if (event.type === 'progress' && Date.now() - lastPrint > 60_000) {
      lastPrint = Date.now();
      console.error(`[${method}] epoch ${event.epoch} step ${event.epoch_step}/${event.steps_per_epoch} loss ${event.loss.toFixed(4)} sparsity ${event.sparsity.toFixed(3)}`);
    } else if (event.type === 'epoch') {
      console.error(`[${method}] epoch ${event.epoch}: accuracy ${(event.metrics.accuracy ?? NaN).toFixed(4)} sparsity ${event.sparsity.toFixed(4)}`);
    } else if (event.type === 'failed') {
      console.error(`[${method}] FAILED: ${event.error.message}`);
    }
  });
  const last = result.epochs.at(-1);
  console.log(
    JSON.stringify({
      method,
      accuracy: last?.metrics.accuracy,
      best_accuracy: result.best_metrics.accuracy,
      sparsity: result.sparsity.global,
      train_loss: last?.train_loss,
      wall_s: (Date.now() - t0) / 1000,
      per_epoch: result.epochs.map((e) => ({ epoch: e.epoch, accuracy: e.metrics.accuracy, sparsity: e.sparsity })),
    }),
  );
}

/**
 * @typedef {{ method: string, error: string }
 *   | { method: string, error?: undefined, accuracy?: number, best_accuracy?: number, sparsity?: number, wall_s: number }} MethodResult
 * @param {string} method
 * @returns {Promise<MethodResult>}
 */
function runChild(method) {
  return new Promise((resolveChild) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--out', outDir, '--one-method', method], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1);
      resolveChild(code === 0 && line ? JSON.parse(line) : { method, error: `exited with ${code}` });
    });
  });
}

async function runAll() {
  const methods = args.methods.split(',').map((m) => m.trim()).filter(Boolean);
  mkdirSync(outDir, { recursive: true });
  console.log(
    `prune bench: tiny on SST-2 (${args.train} train examples, full validation), ${epochs} epochs, target sparsity ${args.sparsity} over epochs 1-${Math.max(1, epochs - 1)}, backend ${args.backend}, ${args.parallel} at a time -> ${outDir}`,
  );
  const queue = [...methods];
  /** @type {MethodResult[]} */
  const results = [];
  const workers = Array.from({ length: Math.max(1, Number(args.parallel)) }, async () => {
    for (let method = queue.shift(); method; method = queue.shift()) results.push(await runChild(method));
  });
  await Promise.all(workers);
  results.sort((a, b) => methods.indexOf(a.method) - methods.indexOf(b.method));
  const pct = (/** @type {number | undefined} */ v) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
  console.log('\n| method | final accuracy | best accuracy | sparsity | wall time |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) {
    if (r.error !== undefined) console.log(`| ${r.method} | failed: ${r.error} | | | |`);
    else console.log(`| ${r.method} | ${pct(r.accuracy)} | ${pct(r.best_accuracy)} | ${pct(r.sparsity)} | ${r.wall_s.toFixed(0)} s |`);
  }
  if (results.some((r) => r.error)) process.exit(1);
}
