/**
 * A faster wrapper around a stock wasm kernel: same name, backend, setup and dispose, a new
 * kernelFunc (which falls back to the stock one for the cases it does not speed up). The config
 * remembers which wrapper made it and the stock config, so registering twice never wraps a
 * wrapper and the stock kernel can be put back.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

// Symbol.for: a second copy of this module (sources next to dist) still recognises the mark.
const WRAPPED = Symbol.for('gbp.backend.wrappedKernel');

type WrappedConfig = KernelConfig & { [WRAPPED]: { wrapper: string; original: KernelConfig } };

function isWrapped(config: KernelConfig | undefined): config is WrappedConfig {
  return config != null && WRAPPED in config;
}

/**
 * `original` with its kernelFunc replaced by `kernelFunc`, marked as made by `wrapperName`.
 * kernelFunc takes the kernel's own typed args (tfjs's KernelFunc types them loosely).
 */
export function wrapKernel(
  original: KernelConfig,
  wrapperName: string,
  kernelFunc: (args: never) => TensorInfo | TensorInfo[],
): KernelConfig {
  const config: WrappedConfig = {
    kernelName: original.kernelName,
    backendName: original.backendName,
    kernelFunc: kernelFunc as unknown as KernelFunc,
    // The original's setup binds its wasm function; keep it for a re-initialised backend.
    ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    ...(original.disposeFunc ? { disposeFunc: original.disposeFunc } : {}),
    [WRAPPED]: { wrapper: wrapperName, original },
  };
  return config;
}

/** The name of the wrapper that made `config`, or undefined for a stock (or missing) kernel. */
export function wrapperOf(config: KernelConfig | undefined): string | undefined {
  return isWrapped(config) ? config[WRAPPED].wrapper : undefined;
}

/** The stock config a wrapper replaced, or undefined when `config` is not a wrapper. */
export function originalOf(config: KernelConfig | undefined): KernelConfig | undefined {
  return isWrapped(config) ? config[WRAPPED].original : undefined;
}
