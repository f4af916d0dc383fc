import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { GatedBert, forward, lossAndGradients, resolveModelConfig, type ModelInput } from '../model/index.js';
import { AdamW } from '../train/adamw.js';
import { backendInfo, initBackend } from './init.js';
import { TFJS_WEBGPU_GLOBALS, webgpuSkippedByAuto } from './webgpu.js';
import { isSoftwareAdapter, mayHaveGpu, probeWebgpu } from './webgpu_dawn.js';

// Probed once: the parity tests need an adapter (Dawn finds none on a machine without a GPU and a
// driver it supports, e.g. Debian's lavapipe is too old for it); the error tests need its absence.
const probe = await probeWebgpu({ explain: true });
const noAdapter = probe.ok ? '' : `backend 'webgpu': ${probe.why}`;
if (noAdapter) console.warn(`skipping the webgpu parity tests: ${noAdapter}`);

const scratch = mkdtempSync(join(tmpdir(), 'gbp-webgpu-'));
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await initBackend('cpu');
});

describe('backend webgpu where Dawn finds no adapter', () => {
  it.skipIf(probe.ok)("refuses with Dawn's own explanation, leaving no navigator.gpu or WebGPU global behind", async () => {
    await initBackend('cpu');
    const before = backendInfo();
    const error = await initBackend('webgpu').then(
      () => new Error('initBackend(webgpu) succeeded'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toMatch(/^backend 'webgpu': no WebGPU adapter \(Dawn found none on this machine: .+\); choose backend wasm$/);
    console.info(`what backend webgpu says here: ${error.message}`);
    expect(backendInfo()).toBe(before);
    expect(tf.getBackend()).toBe('cpu');
    const scope = globalThis as Record<string, unknown>;
    expect((scope['navigator'] as { gpu?: unknown } | undefined)?.gpu).toBeUndefined();
    for (const name of TFJS_WEBGPU_GLOBALS) expect(scope[name], name).toBeUndefined();
  });

  it.skipIf(probe.ok)('auto does not pick webgpu and says why', async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    const why = mayHaveGpu() ? 'webgpu: Dawn found no WebGPU adapter' : 'webgpu: no GPU device (no /dev/dri/renderD*, /dev/nvidia*, /dev/dxg)';
    expect(info.reason).toContain(`, ${why} -> wasm`);
  });

  it.skipIf(probe.ok)("auto's probe (a child process, as on a machine with a GPU device node) says what Dawn said", async () => {
    const reason = await webgpuSkippedByAuto({ probeWithoutDevice: true });
    expect(reason).toMatch(/^webgpu: Dawn found no WebGPU adapter/);
    // The same words as the explicit request's error: both come from Dawn through a child process.
    if (!probe.ok) expect(probe.why).toContain(reason.slice('webgpu: Dawn found no WebGPU adapter ('.length, -1));
  });
});

describe('Dawn itself', () => {
  it('says when the webgpu package is not installed', async () => {
    const result = await probeWebgpu({ resolveFrom: join(scratch, 'nowhere.js') });
    expect(result).toEqual({
      ok: false,
      short: 'the webgpu package (Dawn) is not installed',
      why: 'webgpu (Dawn, the native WebGPU implementation) is not installed. Install it next to @gbp/core (npm install webgpu@0.6.2) or choose backend wasm.',
    });
    expect(await webgpuSkippedByAuto({ probeWithoutDevice: true, resolveFrom: join(scratch, 'nowhere.js') })).toBe('webgpu: the webgpu package (Dawn) is not installed');
  });

  it('says when dawn.node cannot load (a copy of the package whose native addon is not a library)', async () => {
    // The real package entry, next to a dawn.node the dynamic loader rejects: what a wrong-platform or
    // truncated download gives.
    const real = createRequire(import.meta.url).resolve('webgpu');
    const copy = join(scratch, 'node_modules', 'webgpu');
    const platformDir = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
    mkdirSync(join(copy, 'dist', platformDir), { recursive: true });
    copyFileSync(real, join(copy, 'index.js'));
    copyFileSync(join(dirname(real), 'package.json'), join(copy, 'package.json'));
    writeFileSync(join(copy, 'dist', platformDir, 'dawn.node'), 'not a shared library\n');
    const result = await probeWebgpu({ resolveFrom: join(scratch, 'app.js') });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.why).toMatch(/^Dawn \(the webgpu package, .*index\.js\) failed to load on \w+-\w+: .*dawn\.node.*; choose backend wasm$/);
    expect(result.short).toMatch(/^Dawn failed to load \(/);
    expect(await webgpuSkippedByAuto({ probeWithoutDevice: true, resolveFrom: join(scratch, 'app.js') })).toMatch(/^webgpu: Dawn failed to load \(.*dawn\.node/);
  });
});

describe('which adapters auto would consider', () => {
  it('tells software adapters (fallback, lavapipe, SwiftShader) from GPUs', () => {
    expect(isSoftwareAdapter({ info: { isFallbackAdapter: true } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' } })).toBe(false);
    expect(isSoftwareAdapter({ info: { vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' } })).toBe(false);
  });

  it('looks for a GPU device node on Linux only', () => {
    const dev = join(scratch, 'dev');
    mkdirSync(join(dev, 'dri'), { recursive: true });
    writeFileSync(join(dev, 'dri', 'card0'), '');
    expect(mayHaveGpu('linux', dev)).toBe(false); // a display card without a render node
    writeFileSync(join(dev, 'nvidiactl'), '');
    expect(mayHaveGpu('linux', dev)).toBe(false);
    writeFileSync(join(dev, 'nvidia0'), '');
    expect(mayHaveGpu('linux', dev)).toBe(true);
    rmSync(join(dev, 'nvidia0'));
    writeFileSync(join(dev, 'dri', 'renderD128'), '');
    expect(mayHaveGpu('linux', dev)).toBe(true);
    expect(mayHaveGpu('darwin', join(scratch, 'none'))).toBe(true);
    expect(mayHaveGpu('linux', join(scratch, 'none'))).toBe(false);
  });

  it('exposes every WebGPU global tfjs-backend-webgpu uses as a value', () => {
    const source = readFileSync(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-webgpu'), 'utf8');
    const used = new Set<string>();
    for (const m of source.matchAll(/instanceof (GPU\w+)|\b(GPU\w+)\.[A-Z_]+\b/g)) used.add((m[1] ?? m[2])!);
    expect([...used].sort()).toEqual([...TFJS_WEBGPU_GLOBALS].sort());
    expect([...new Set([...source.matchAll(/navigator\.(\w+)/g)].map((m) => m[1]))]).toEqual(['gpu']);
  });
});

// ---- Parity with cpu: run only where Dawn has an adapter (tools/bench/webgpu-check.sh fails if they skip).

const config = resolveModelConfig({ size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 200, max_len: 16, dropout_rate: 0.1 }, 2);

function batch(): ModelInput & { labels: Float32Array } {
  const rng = new Rng(9);
  const [B, T] = [4, 12];
  const input = { inputIds: new Int32Array(B * T), typeIds: new Int32Array(B * T), attentionMask: new Float32Array(B * T), batchSize: B, seqLen: T, labels: Float32Array.from([0, 1, 1, 0]) };
  [12, 9, 5, 3].forEach((len, b) => {
    for (let t = 0; t < len; t++) {
      input.inputIds[b * T + t] = 1 + rng.int(199);
      input.typeIds[b * T + t] = t > len / 2 ? 1 : 0;
      input.attentionMask[b * T + t] = 1;
    }
  });
  return input;
}

/** A model with the same weights and 30%-pruned masks on every backend (seeded). */
function seededModel(): GatedBert {
  const model = new GatedBert(config, { seed: 21 });
  const rng = new Rng(3);
  for (const g of model.gates) g.setMask(Float32Array.from({ length: g.size }, () => (rng.next() < 0.3 ? 0 : 1)));
  return model;
}

/** Reads asynchronously: webgpu cannot read synchronously on Node (see SYNC_READ_MESSAGE). */
const read = async (t: tf.Tensor) => Float32Array.from(await t.data());

/**
 * Logits, the loss and every gradient of one training step, and the weights after one AdamW update
 * with `adamGrads` (the cpu's gradients, so that the update compares arithmetic only: Adam's first
 * step is about lr·sign(g), which rounding flips where g is near zero).
 */
async function stepOn(backend: 'cpu' | 'webgpu', adamGrads?: Map<string, Float32Array>) {
  await initBackend(backend);
  const model = seededModel();
  const input = batch();
  const logits = tf.tidy(() => forward(config, (name) => model.gateOf(name)?.effective() ?? model.param(name), input, { training: false }));
  const seeds = new Rng(77);
  const { value, grads } = lossAndGradients(model, input, { training: true, dropoutSeed: () => seeds.seed(), divisor: input.batchSize });
  const optimizer = new AdamW(
    model.specs.map((s) => ({ name: s.name, variable: model.param(s.name), decay: true, ...(s.gate !== undefined && { mask: model.gateOf(s.name)!.mask }) })),
    { weightDecay: 0.01 },
  );
  const applied = adamGrads ? model.specs.map((s) => tf.tensor(adamGrads.get(s.name)!, model.param(s.name).shape)) : grads;
  optimizer.apply(applied, 1e-3);
  if (adamGrads) tf.dispose(applied);
  const out = {
    backend: tf.getBackend(),
    logits: await read(logits),
    loss: (await read(value))[0]!,
    grads: new Map(await Promise.all(model.specs.map(async (s, i) => [s.name, await read(grads[i]!)] as const))),
    updated: new Map(await Promise.all(model.specs.map(async (s) => [s.name, await read(model.param(s.name))] as const))),
  };
  tf.dispose([logits, value, ...grads]);
  optimizer.dispose();
  model.dispose();
  return out;
}

/** ‖a − b‖₂ / ‖b‖₂: near-zero entries do not dominate. */
function relativeL2(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}

// Tolerances: cpu and webgpu both compute in float32 but in a different order (tiled matmul
// reductions, GPU exp/tanh/rsqrt within a few ULP rather than correctly rounded), so results differ
// at ~1e-6 per op; through two layers, softmax and the backward pass that grows to ~1e-5 (wasm vs cpu
// is held to 1e-4 in backend_parity.test.ts). 1e-4 for logits and loss, 1e-3 for gradients leave
// margin for the GPU's transcendental functions, while a wrong kernel (a transposed operand, a
// missed mask, a dropped bias) is off by 1e-1 or more. The AdamW update is elementwise on the same
// gradients: 1e-5. (Measured wasm against cpu with this test: logits 2e-7, loss 9e-8, worst gradient
// 1.5e-5, AdamW 1.1e-7.)
describe.skipIf(!probe.ok)('webgpu and cpu agree', () => {
  it('forward logits, the loss and every gradient of a training step, and one AdamW update (fused kernel is wasm-only)', async () => {
    const cpu = await stepOn('cpu');
    const gpu = await stepOn('webgpu', cpu.grads);
    expect(cpu.backend).toBe('cpu');
    expect(gpu.backend).toBe('webgpu');
    console.info(`webgpu adapter: ${backendInfo()?.reason}`);
    expect(relativeL2(gpu.logits, cpu.logits)).toBeLessThan(1e-4);
    expect(Math.abs(gpu.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-4);
    for (const [name, g] of cpu.grads) {
      // The key bias's true gradient is 0 (softmax ignores a per-query shift): both are rounding noise.
      if (name.endsWith('attention.self.key.bias')) continue;
      expect(relativeL2(gpu.grads.get(name)!, g), `gradient of ${name}`).toBeLessThan(1e-3);
    }
    for (const [name, w] of cpu.updated) expect(relativeL2(gpu.updated.get(name)!, w), `${name} after AdamW`).toBeLessThan(1e-5);
  });
});
