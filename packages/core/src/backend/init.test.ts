import { describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { backendInfo, initBackend } from './init.js';

// tfjs-node(-gpu) are optional peers that are not installed in this workspace.
describe('initBackend', () => {
  it('auto falls back to wasm and says why', async () => {
    const listeners = () => [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    const before = listeners();
    const info = await initBackend();
    expect(info).toEqual({
      name: 'wasm',
      requested: 'auto',
      reason: expect.stringMatching(/^auto: @tensorflow\/tfjs-node-gpu not installed, @tensorflow\/tfjs-node not installed, webgpu: .+ -> wasm$/),
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(backendInfo()).toBe(info);
    // The Emscripten glue's process handlers (which rethrow everything) are removed again.
    expect(listeners()).toEqual(before);
  });

  it('is idempotent and registers the wasm kernels once', async () => {
    const first = await initBackend('wasm');
    const kernel = tf.getKernel('BatchMatMul', 'wasm');
    const [a, b] = await Promise.all([initBackend('wasm'), initBackend('wasm')]);
    expect(a).toBe(first);
    expect(b).toBe(first);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(kernel);
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  it('switches to cpu and back', async () => {
    expect(await initBackend('cpu')).toEqual({ name: 'cpu', requested: 'cpu', reason: 'requested cpu' });
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend('wasm')).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it.each([
    ['tensorflow', '@tensorflow/tfjs-node'],
    ['cuda', '@tensorflow/tfjs-node-gpu'],
  ] as const)('explains that %s needs %s installed', async (name, pkg) => {
    const before = backendInfo();
    await expect(initBackend(name)).rejects.toThrow(
      `backend '${name}': ${pkg} is not installed. Install it next to @gbp/core (npm install ${pkg}@4.22.0) or choose backend wasm.`,
    );
    expect(backendInfo()).toBe(before); // a failed request leaves the backend as it was
  });

  it('rejects an unknown backend name', async () => {
    await expect(initBackend('metal' as never)).rejects.toThrow("unknown backend 'metal': expected one of auto, wasm, cpu, tensorflow, cuda, webgpu");
  });
});
