import { describe, expect, it } from 'vitest';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { originalOf, wrapKernel, wrapperOf } from './wrap_kernel.js';

describe('wrapKernel', () => {
  const stockFunc = () => ({ dataId: {}, shape: [], dtype: 'float32' as const });
  const setupFunc = () => {};
  const stock: KernelConfig = { kernelName: 'Sum', backendName: 'wasm', kernelFunc: stockFunc, setupFunc };

  it('keeps the stock name, backend and setup, replaces kernelFunc and remembers both', () => {
    const kernelFunc = () => stockFunc();
    const wrapped = wrapKernel(stock, 'sumOuter', kernelFunc);
    expect(wrapped).toMatchObject({ kernelName: 'Sum', backendName: 'wasm', setupFunc });
    expect(wrapped.kernelFunc).toBe(kernelFunc);
    expect('disposeFunc' in wrapped).toBe(false);
    expect(wrapperOf(wrapped)).toBe('sumOuter');
    expect(originalOf(wrapped)).toBe(stock);
  });

  it('reports nothing for stock or missing kernels', () => {
    expect(wrapperOf(stock)).toBeUndefined();
    expect(originalOf(stock)).toBeUndefined();
    expect(wrapperOf(undefined)).toBeUndefined();
  });
});
