/**
 * Forward latency at batch 8 x 128 tokens: @gbp/runtime's TextClassifier vs core's InferenceModel,
 * one side per process (core's initBackend registers its own wasm kernels, which would change the
 * runtime's numbers if both ran in one process). Not a test: timings depend on the machine.
 *   npx tsx scripts/bench-latency.ts runtime|runtime-core-kernels|core tiny|small [runs]
 * runtime-core-kernels: the runtime after core's initBackend('wasm') (core's faster wasm kernels registered).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InferenceModel, initBackend, MODEL_PRESETS, Rng, type ModelConfig, type NamedTensor } from '@gbp/core';
import { encodeExport, expectedWeights, TextClassifier, type Encoding } from '../src/index.js';

const [side = 'runtime', size = 'tiny', runsArg = '10'] = process.argv.slice(2);
const runs = Number(runsArg);
const config: ModelConfig = { size: size as 'tiny', ...MODEL_PRESETS[size as 'tiny'], num_labels: 2 };
const runtimeConfig = { ...config, layer_norm_eps: 1e-12 } as const;
const rng = new Rng(1);
const weights = new Map<string, NamedTensor>();
for (const [name, shape] of expectedWeights(runtimeConfig)) weights.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.02 * rng.normal()) });
const B = 8, T = 128;
const encodings: Encoding[] = Array.from({ length: B }, () => ({ ids: Int32Array.from({ length: T }, () => 5 + rng.int(config.vocab_size - 5)), typeIds: new Int32Array(T) }));

async function timeIt(step: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < 2; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

let times: number[];
if (side === 'runtime-core-kernels') await initBackend('wasm');
if (side.startsWith('runtime')) {
  const dir = mkdtempSync(join(tmpdir(), 'gbp-bench-'));
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (const [name, data] of encodeExport({ config: runtimeConfig, weights, labels: ['a', 'b'], tokenizer: { vocab, lowercase: true } }).files) writeFileSync(join(dir, name), data);
  const clf = await TextClassifier.load(dir);
  console.log(`backend: ${clf.backend.name} (${clf.backend.reason})`);
  times = await timeIt(async () => void (await clf.logits(encodings, B)));
  clf.dispose();
  rmSync(dir, { recursive: true });
} else {
  console.log(`backend: ${(await initBackend('wasm')).name}`);
  const model = InferenceModel.fromWeights(config, weights);
  const { padBatch } = await import('../src/model/batch.js');
  const input = padBatch(encodings, 0);
  times = await timeIt(async () => {
    const logits = model.logits(input);
    await logits.data();
    logits.dispose();
  });
}
const median = times[Math.floor(times.length / 2)]!;
console.log(`${side} ${size} batch ${B}x${T}: median ${median.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms over ${runs} runs`);
