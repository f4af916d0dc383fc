#!/usr/bin/env node
// @ts-check
/**
 * Learning benchmark (not a test): trains the tiny baseline from scratch on SST-2 and prints the
 * validation accuracy per epoch and the wall time. Target: >= 80% validation accuracy within
 * 3 epochs. Needs core's dist (npm run bench:learn builds it) and ../shared/data/glue/sst2.
 *
 *   node tools/bench/learn.mjs [--epochs 3] [--batch 32] [--lr 1e-3] [--max-len 64] [--train N]
 *                              [--warmup 0.1] [--dropout 0.1] [--vocab 30522] [--backend wasm] [--out DIR]
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { resolveJobSpec, runJob } from '@gbp/core';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '1e-3' },
    'max-len': { type: 'string', default: '64' },
    train: { type: 'string' },
    warmup: { type: 'string', default: '0.1' },
    dropout: { type: 'string', default: '0.1' },
    vocab: { type: 'string', default: '30522' },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string' },
  },
});

const dataDir = process.env.GBP_DATA_DIR ?? join(root, '..', 'shared', 'data', 'glue');
if (!existsSync(join(dataDir, 'sst2', 'train.jsonl'))) {
  console.error(`learn bench: no SST-2 data at ${join(dataDir, 'sst2')} (set GBP_DATA_DIR)`);
  process.exit(2);
}

const spec = resolveJobSpec({
  id: 'learn-bench',
  task: 'sst2',
  method: 'baseline',
  backend: /** @type {import('@gbp/core').BackendName} */ (args.backend), // resolveJobSpec checks it
  model: { size: 'tiny', max_len: Number(args['max-len']), dropout_rate: Number(args.dropout), vocab_size: Number(args.vocab) },
  train: {
    epochs: Number(args.epochs),
    batch_size: Number(args.batch),
    learning_rate: Number(args.lr),
    warmup_ratio: Number(args.warmup),
    seed: Number(args.seed),
    ...(args.train ? { max_train_examples: Number(args.train) } : {}),
  },
  data: { dir: dataDir, source: 'local', offline: true },
  output_dir: args.out ?? join(tmpdir(), `gbp-learn-${Date.now()}`),
});

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(0);
let lastPrint = 0;
console.log(`learn bench: tiny baseline on SST-2, ${JSON.stringify({ ...spec.model, ...spec.train })}`);
const result = await runJob(spec, (event) => {
  if (event.type === 'start') {
    console.log(`[${secs()}s] backend ${event.backend.name} (${event.backend.reason}); ${event.model_info.estimated_params_millions}M params; ${event.steps_per_epoch} steps/epoch`);
  } else if (event.type === 'progress' && Date.now() - lastPrint > 30_000) {
    lastPrint = Date.now();
    console.log(`[${secs()}s] epoch ${event.epoch} step ${event.epoch_step}/${event.steps_per_epoch} loss ${event.loss.toFixed(4)} lr ${event.lr.toExponential(2)} ${event.tokens_per_s.toFixed(0)} tok/s`);
  } else if (event.type === 'epoch') {
    const acc = (100 * (event.metrics.accuracy ?? Number.NaN)).toFixed(2);
    console.log(`[${secs()}s] EPOCH ${event.epoch}: validation accuracy ${acc}%  train_loss ${event.train_loss.toFixed(4)}  eval_loss ${event.eval_loss.toFixed(4)}  wall ${event.wall_time_s.toFixed(0)}s`);
  } else if (event.type === 'log' && event.level !== 'debug') {
    console.log(`[${secs()}s] ${event.source ?? 'log'}: ${event.message}`);
  } else if (event.type === 'failed') {
    console.error(`[${secs()}s] FAILED: ${event.error.message}`);
  }
});
const best = result.best_metrics.accuracy ?? Number.NaN;
console.log(`done in ${secs()}s; best validation accuracy ${(100 * best).toFixed(2)}% (target >= 80%) -> ${result.output_dir}`);
