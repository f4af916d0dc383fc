import type { BackendInfo } from '@gbp/core';

/** How a job's backend is named in logs and the dashboard: `wasm, 2 threads (requested wasm ...)`. */
export const backendLabel = (backend: BackendInfo): string =>
  `${backend.name}${backend.threads !== undefined ? `, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}` : ''} (${backend.reason})`;
