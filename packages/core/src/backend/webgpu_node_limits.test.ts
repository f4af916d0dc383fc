// What tfjs-backend-webgpu can and cannot do for gbp on Node, checked without a GPU. A file of its
// own: importing tfjs-backend-webgpu before navigator.gpu exists registers its kernels but never its
// backend, which would break webgpu.test.ts's parity tests in the same process.
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { Rng } from '../rng.js';
import { HookRegistry } from '../hooks/registry.js';
import { GatedBert, resolveModelConfig } from '../model/index.js';
import { Trainer } from '../train/trainer.js';
import { initBackend } from './init.js';
import { SYNC_READ_MESSAGE, TFJS_WEBGPU_GLOBALS, activateWebgpu, guardSyncReads } from './webgpu.js';

let WebGPUBackend: { prototype: { readSync(this: unknown, dataId: object): unknown } };
beforeAll(async () => {
  ({ WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as { WebGPUBackend: typeof WebGPUBackend });
});

describe('synchronous reads on webgpu under Node', () => {
  // tfjs-backend-webgpu's own readSync, on the state a GPU-resident tensor has (no CPU copy, a buffer).
  const fakeBackend = () => {
    const onGpu = {};
    const onCpu = {};
    const tensorMap = new Map<object, unknown>([
      [onGpu, { values: null, dtype: 'float32', resource: { size: 16 } }],
      [onCpu, { values: Float32Array.from([1, 2]), dtype: 'float32' }],
    ]);
    const backend = { tensorMap, hasReadSyncWarned: true, readSync: WebGPUBackend.prototype.readSync };
    return { backend, onGpu, onCpu };
  };

  it('fail in tfjs-backend-webgpu itself: it reads through OffscreenCanvas, which Node lacks', () => {
    const { backend, onGpu } = fakeBackend();
    expect(() => backend.readSync(onGpu)).toThrow(/OffscreenCanvas is not defined/);
  });

  it('fail with a message that says why and what to do; values already read asynchronously still read', () => {
    const { backend, onGpu, onCpu } = fakeBackend();
    guardSyncReads(backend);
    let caught: Error | undefined;
    try {
      backend.readSync(onGpu);
    } catch (error) {
      caught = error as Error;
    }
    expect(caught?.message).toBe(SYNC_READ_MESSAGE);
    expect(caught?.message).toContain("choose backend wasm to train");
    expect(String(caught?.cause)).toMatch(/OffscreenCanvas is not defined/);
    expect(backend.readSync(onCpu)).toEqual(Float32Array.from([1, 2]));
  });

  it('pass any other failure through unchanged', () => {
    const lost = new Error('device lost');
    const backend = {
      readSync: (): unknown => {
        throw lost;
      },
    };
    guardSyncReads(backend);
    expect(() => backend.readSync()).toThrow(lost);
  });
});

describe('kernels', () => {
  it('every kernel a training epoch runs (forward, backward, clipping, AdamW, evaluation) is registered for webgpu', async () => {
    await initBackend('cpu');
    const VOCAB = 60;
    const rng = new Rng(1);
    const examples = Array.from({ length: 24 }, () => {
      const len = 3 + rng.int(8);
      return { ids: Int32Array.from({ length: len }, () => 5 + rng.int(VOCAB - 5)), typeIds: new Int32Array(len), label: rng.int(2) };
    });
    const config = resolveModelConfig({ size: 'tiny', num_layers: 1, d_model: 32, num_heads: 4, dff: 64, vocab_size: VOCAB, max_len: 16, dropout_rate: 0.1 });
    const model = new GatedBert(config, { seed: 1 });
    const trainer = new Trainer({
      model,
      train: { epochs: 1, batch_size: 8, learning_rate: 3e-3, weight_decay: 0.01, warmup_ratio: 0.1, max_grad_norm: 1, seed: 5, checkpoint_every_epoch: false },
      numLabels: 2,
      trainExamples: examples,
      evalSets: [{ split: 'validation', examples: examples.slice(0, 8) }],
      padId: 0,
      computeMetrics: () => ({ accuracy: 0 }),
      hooks: new HookRegistry(),
      sparsity: () => 0,
    });
    const profile = await tf.profile(async () => {
      await trainer.run();
    });
    trainer.optimizer.dispose();
    model.dispose();
    // kernelNames also lists customGrad scopes ('forward'): keep real kernels only.
    const ran = [...new Set(profile.kernelNames)].filter((name) => tf.getKernel(name, 'cpu') != null);
    expect(ran).toContain('BatchMatMul');
    expect(ran).toContain('UnsortedSegmentSum'); // the embedding gradient
    const onWebgpu = new Set(tf.getKernelsForBackend('webgpu').map((k) => k.kernelName));
    expect(ran.filter((name) => !onWebgpu.has(name))).toEqual([]);
  });
});

describe('activating webgpu', () => {
  it('asks for the adapter\'s limits and no features, and a failure leaves no navigator.gpu, WebGPU global or webgpu backend behind', async () => {
    await initBackend('cpu');
    // Dawn's real globals; an adapter (there is none here) whose device request fails, as a lost GPU's would.
    const { globals } = (await import('webgpu')) as unknown as { globals: Record<string, unknown> };
    const requested: object[] = [];
    const adapter = {
      info: { description: 'test adapter' },
      limits: { maxBufferSize: 1 << 20, maxComputeWorkgroupSizeX: 256, maxTextureDimension2D: 8192 },
      requestDevice: async (descriptor: object) => {
        requested.push(descriptor);
        throw new Error('device request failed (test)');
      },
    };
    const probe = { ok: true as const, gpu: { requestAdapter: async () => null }, globals, adapter, name: 'test adapter', software: false };
    const activate = async () => {
      // As initBackend's: tfjs resolves false (after a warning) when the backend's factory throws.
      if (!(await tf.setBackend('webgpu'))) throw new Error("TF.js backend 'webgpu' failed to initialise");
    };
    await expect(activateWebgpu(probe, activate)).rejects.toThrow("TF.js backend 'webgpu' failed to initialise");
    expect(requested).toEqual([{ requiredLimits: { maxBufferSize: 1 << 20, maxComputeWorkgroupSizeX: 256 } }]);
    const scope = globalThis as Record<string, unknown>;
    expect((scope['navigator'] as { gpu?: unknown } | undefined)?.gpu).toBeUndefined();
    for (const name of TFJS_WEBGPU_GLOBALS) expect(scope[name], name).toBeUndefined();
    expect(tf.findBackendFactory('webgpu')).toBeNull();
    expect(tf.getBackend()).toBe('cpu');
  });
});
