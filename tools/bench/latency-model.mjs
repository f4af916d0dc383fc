#!/usr/bin/env node
// @ts-check
/**
 * How well a linear model of FLOP components predicts measured latency of sub-networks (issue 14's
 * latency model; groundwork: the supernet and search are not built yet). A benchmark, not a test.
 *
 *   node tools/bench/latency-model.mjs [--size tiny] [--samples 48] [--batch 8] [--seq 128] [--runs 9] [--json]
 *   (npm run bench:latency-model -- --size small --samples 30)
 *
 * Samples sub-networks uniformly from a space over the preset (layers 1..L, heads 0..H, FFN width in
 * quarters of dff), measures each one's forward pass (InferenceModel.random of the sub-network's
 * compacted config, wasm, one thread: the median of --runs after a warm-up, two passes, the lower
 * kept; core's measureLatencies, the one a search job uses), fits
 * fitLatencyModel on 75 % and prints the error on the held-out 25 %, and the coefficients.
 */
import { parseArgs } from 'node:util';
import { Rng, archConfig, archKey, fitLatencyModel, initBackend, latencyFeatures, measureLatencies, predictLatency, resolveModelConfig, resolveSearchSpace, sampleArch } from '@gbp/core/internal';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: 'tiny' },
    samples: { type: 'string', default: '48' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '128' },
    runs: { type: 'string', default: '9' },
    json: { type: 'boolean', default: false },
  },
});
const [batchSize, seq, runs, count] = [Number(args.batch), Number(args.seq), Number(args.runs), Number(args.samples)];
const backend = await initBackend('wasm');
const config = resolveModelConfig({ size: /** @type {import('@gbp/core').ModelSize} */ (args.size), max_len: Math.max(128, seq) }, 2);
const quarters = [0, 1, 2, 3, 4].map((q) => (q * config.dff) / 4);
const space = resolveSearchSpace(
  { layers: Array.from({ length: config.num_layers }, (_, i) => i + 1), heads: Array.from({ length: config.num_heads + 1 }, (_, h) => h), ffn: quarters },
  config,
);
const rng = new Rng(11);
const settings = { batch: batchSize, seq, runs, threads: 1 };
const archs = Array.from({ length: count }, () => sampleArch(space, rng));
// The full model first, then the samples; each measured in two passes, the lower median kept (as a search job's fit).
const [referenceMs = Number.NaN, ...ms] = await measureLatencies([config, ...archs.map((arch) => archConfig(config, arch))], settings, {
  onProgress: (done, total) => {
    if (!args.json) process.stderr.write(`\r${done}/${total} measured`);
  },
});
const samples = archs.map((arch, i) => ({ arch, ms: /** @type {number} */ (ms[i]) }));
const model = fitLatencyModel(config, samples, { batch: batchSize, seq, backend: backend.name, threads: 1, referenceMs, rng: new Rng(3) });
if (args.json) {
  console.log(JSON.stringify({ model, samples: samples.map((s) => ({ arch: archKey(s.arch), ms: s.ms, predicted: predictLatency(model, config, s.arch), features: latencyFeatures(config, s.arch, batchSize, seq) })) }, null, 2));
} else {
  console.log(`\n${args.size} on ${backend.name}, batch ${batchSize} x ${seq}: ${model.fit.samples} sub-networks fitted, ${model.fit.held_out} held out`);
  console.log(`full model: ${referenceMs.toFixed(2)} ms`);
  console.log(`held-out error: mean ${(100 * model.fit.mean_abs_error).toFixed(1)} %, max ${(100 * model.fit.max_abs_error).toFixed(1)} %`);
  console.log(`coefficients (ms per unit): ${model.features.map((f, i) => `${f} ${model.coefficients[i]?.toFixed(3)}`).join(', ')}`);
  console.log(`machine: ${model.machine}`);
}
