// Public API of the backend module: choosing the TF.js backend, explaining its failures, measuring it.
export { initBackend, backendInfo } from './init.js';
export { explainBackendError, BackendMemoryError } from './errors.js';
export { measureMatmulGflops, type MatmulBenchOptions, type MatmulBenchResult } from './matmul_gflops.js';
export { probeWebgpu, isSoftwareAdapter, type WebgpuProbe } from './webgpu_dawn.js';
export { SYNC_READ_MESSAGE } from './webgpu.js';
