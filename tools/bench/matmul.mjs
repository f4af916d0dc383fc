#!/usr/bin/env node
// @ts-check
// Large-matmul throughput of a TF.js backend, and of the matmul shapes a tiny/small gbp model runs
// (forward, and the transposed forms its gradient uses). Uses '@gbp/core/internal', so it needs
// core's dist (npm run bench:matmul builds it):
//
//   node tools/bench/matmul.mjs [--backend wasm|cpu|auto|tensorflow|cuda|webgpu] [--tokens 4096]
//                                  [--min-time 500] [--stock] [--quick] [--json]
//
// --stock   also time wasm's stock BatchMatMul (transposes passed as flags), i.e. before gbp's override
// --quick   only the 1024^3 reference and the tiny-model shapes
// The training-throughput bench reports efficiency against `reference` (1024x1024x1024, no flags).
import { parseArgs } from 'node:util';
import { initBackend, measureMatmulGflops, registerWasmKernels, unregisterFastMatMul } from '@gbp/core/internal';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    tokens: { type: 'string', default: '4096' }, // B*T: 32 sequences of 128 tokens
    'min-time': { type: 'string', default: '500' },
    stock: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const tokens = Number(args.tokens);
const minTimeMs = Number(args['min-time']);

/**
 * The dense and attention matmuls of one encoder layer (seq len 128), forward and gradient forms.
 * @param {string} size @param {number} d @param {number} dff @param {number} heads
 */
function modelCases(size, d, dff, heads) {
  const T = 128;
  const dh = d / heads;
  const bh = (tokens / T) * heads;
  return [
    { name: `${size} qkv/out   x·W`, m: tokens, k: d, n: d },
    { name: `${size} ffn in    x·W`, m: tokens, k: d, n: dff },
    { name: `${size} ffn out   x·W`, m: tokens, k: dff, n: d },
    { name: `${size} ffn in    dX=dY·Wᵀ`, m: tokens, k: dff, n: d, transposeB: true },
    { name: `${size} ffn in    dW=Xᵀ·dY`, m: d, k: tokens, n: dff, transposeA: true },
    { name: `${size} scores    Q·Kᵀ`, batch: bh, m: T, k: dh, n: T, transposeB: true },
    { name: `${size} context   P·V`, batch: bh, m: T, k: T, n: dh },
  ];
}

const cases = [
  { name: 'reference 1024³', m: 1024, k: 1024, n: 1024 },
  { name: 'reference 1024³ ·Bᵀ', m: 1024, k: 1024, n: 1024, transposeB: true },
  { name: 'reference 1024³ Aᵀ·', m: 1024, k: 1024, n: 1024, transposeA: true },
  ...modelCases('tiny', 256, 512, 4),
  ...(args.quick ? [] : modelCases('small', 512, 1024, 8)),
];

const info = await initBackend(/** @type {import('@gbp/core').BackendName} */ (args.backend));
const variants = [{ label: info.name === 'wasm' ? 'gbp' : info.name, setup: () => {} }];
if (args.stock && info.name === 'wasm') {
  variants.push({ label: 'stock', setup: unregisterFastMatMul });
}

const rows = [];
for (const variant of variants) {
  variant.setup();
  for (const c of cases) {
    const r = await measureMatmulGflops({ ...c, minTimeMs, minIterations: 2 });
    rows.push({ variant: variant.label, case: c.name, ...r });
    if (!args.json) {
      const shape = `${c.batch ? `${c.batch}x ` : ''}[${c.m}x${c.k}]·[${c.k}x${c.n}]`;
      const flags = `${c.transposeA ? 'tA ' : ''}${c.transposeB ? 'tB' : ''}`.trim() || '-';
      console.log(
        `${variant.label.padEnd(6)} ${c.name.padEnd(24)} ${shape.padEnd(26)} ${flags.padEnd(6)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s ${r.msPerMatmul.toFixed(2).padStart(9)} ms`,
      );
    }
  }
}
if (info.name === 'wasm') registerWasmKernels(); // leave the process as initBackend set it

const reference = rows.find((r) => r.variant === variants[0]?.label && r.case === 'reference 1024³');
if (!reference) throw new Error('matmul bench: the 1024³ reference case did not run');
if (args.json) console.log(JSON.stringify({ backend: info, tokens, reference_gflops: reference.gflops, rows }, null, 2));
else console.log(`\nbackend ${info.name} (${info.reason}); reference (1024³, no flags): ${reference.gflops.toFixed(1)} GFLOP/s`);
