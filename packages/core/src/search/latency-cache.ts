/** PLACEHOLDER for engineer B's latency cache (issue 14): the agreed exports, so the CLI compiles. Dropped at merge. */
import type { ModelConfig } from '../model/config.js';
import type { JobSpec, SearchBudgetSpec } from '../spec.js';
import type { LatencyModel } from './latency-model.js';
import type { SearchSpace } from './space.js';

export interface LatencyRequest {
  readonly config: ModelConfig;
  readonly space: SearchSpace;
  readonly batch: number;
  readonly seq: number;
  readonly samples: number;
  readonly runs: number;
  readonly threads: number;
  readonly backend: string;
  readonly cacheDir: string;
}

export function latencyRequestOf(_spec: JobSpec, _config: ModelConfig, _backend: string): LatencyRequest {
  throw new Error('placeholder');
}

export function cachedLatencyModel(_request: LatencyRequest): LatencyModel | undefined {
  throw new Error('placeholder');
}

export async function latencyModelFor(
  _request: LatencyRequest,
  _options?: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal },
): Promise<{ model: LatencyModel; cached: boolean; path: string }> {
  throw new Error('placeholder');
}

export function budgetMs(_model: LatencyModel, _budget: SearchBudgetSpec): number {
  throw new Error('placeholder');
}

export function checkSearchBudget(_model: LatencyModel, _config: ModelConfig, _space: SearchSpace, _search: Pick<JobSpec['search'] & object, 'budget' | 'window'>): void {
  throw new Error('placeholder');
}

export async function measureLatency(_config: ModelConfig, _options: { batch: number; seq: number; runs: number; threads: number }): Promise<number> {
  throw new Error('placeholder');
}
