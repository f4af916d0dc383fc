/**
 * @gbp/core/internal: the public API plus core's machinery (trainer, optimizer, model math, wasm
 * kernels, the hook registry, the pruning functions), for benchmarks and core's own tools. Not a
 * stable API: names here may change with any release.
 */
export * from './index.js';
export * from './backend/index.js';
export { registerWasmKernels, unregisterFastMatMul, MISSING_WASM_KERNELS, FAST_MATMUL_KERNELS } from './backend/wasm/register_wasm_kernels.js';
export * from './model/index.js';
export * from './train/index.js';
export * from './parallel/index.js';
export * from './search/index.js';
export * from './pruning/index.js';
export * from './hooks/registry.js';
export { dottedPath, mustWording, JOB_SPEC_WORDING } from './validation.js';
export { locateModule, searchRoots } from './hooks/loader.js';
export { tempPathFor } from './fs-atomic.js';
export { jobCheckpointsDir } from './job/checkpoint.js';
// For exporters outside core (the CLI's ONNX format): the same atomic folder write, tokenizer files and weight check as the HF export.
export { writeFolderAtomic } from './fs-atomic.js';
export { tokenizerFiles } from './model/hf-export-tokenizer.js';
export { checkWeights } from './model/weights.js';
export { LAYER_NORM_EPS } from './model/layer_norm.js';
export { toFloat16Bits } from './model/safetensors.js';
