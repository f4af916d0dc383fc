/**
 * Measured latency of sub-networks, and the latency model fitted on it, cached per backend, machine
 * and request: what a search job (and `gbp run`, before any job) asks for. One measurement for all:
 * the fit's samples, the full model's reference time, the finalists and `tools/bench` time a forward
 * pass the same way (measureLatency), so their numbers compare.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../abort.js';
import { defaultCacheDir } from '../data/cache.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import type { ModelConfig } from '../model/config.js';
import { InferenceModel } from '../model/inference.js';
import { writeJsonAtomic } from '../fs-atomic.js';
import { Rng } from '../rng.js';
import { LatencySpecSchema, type JobSpec, type LatencySpec, type SearchBudgetSpec } from '../spec.js';
import { JobSpecError } from '../job/spec.js';
import { SearchBudgetError } from './evolution.js';
import { fitLatencyModel, LATENCY_FEATURES, machineFingerprint, predictLatency, type LatencyModel, type LatencySample } from './latency-model.js';
import { archConfig, archKey, largestArch, resolveSearchSpace, sampleArch, smallestArch, type SearchSpace, type SubnetArch } from './space.js';

export interface LatencyRequest {
  /** The full model (the supernet's config). */
  readonly config: ModelConfig;
  /** The search space (samples are drawn from it). */
  readonly space: SearchSpace;
  readonly batch: number;
  readonly seq: number;
  readonly samples: number;
  readonly runs: number;
  readonly threads: number;
  /** The resolved backend name (initBackend(...).name), e.g. 'wasm'. */
  readonly backend: string;
  /** Latency models are cached in <cacheDir>/latency/<key>.json. */
  readonly cacheDir: string;
}

/** What a cached file is checked against: everything that changes the measurements (runs only their noise). */
/** Times each sub-network of a fit is measured (see latencyModelFor). */
const MEASURE_PASSES = 2;

function keyFields(request: LatencyRequest) {
  const c = request.config;
  return {
    // How a fit is measured: a cache from an older way of measuring is measured again.
    method: `median-of-runs, lower of ${MEASURE_PASSES} passes`,
    backend: request.backend,
    machine: machineFingerprint(),
    model: {
      num_layers: c.num_layers,
      d_model: c.d_model,
      num_heads: c.num_heads,
      dff: c.dff,
      heads_per_layer: c.heads_per_layer ?? null,
      dff_per_layer: c.dff_per_layer ?? null,
      vocab_size: c.vocab_size,
      max_len: c.max_len,
      type_vocab_size: c.type_vocab_size,
      num_labels: c.num_labels,
    },
    batch: request.batch,
    seq: request.seq,
    threads: request.threads,
    space: request.space,
    samples: request.samples,
  };
}

/** The cache key of `request`: a hash of its key fields (this machine's fingerprint included). */
export function latencyCacheKey(request: LatencyRequest): string {
  return createHash('sha256').update(JSON.stringify(keyFields(request))).digest('hex').slice(0, 16);
}

/** Where `request`'s latency model is cached. */
export const latencyCachePath = (request: LatencyRequest): string => join(request.cacheDir, 'latency', `${latencyCacheKey(request)}.json`);

/** The schema's defaults: a spec from resolveJobSpec always has search.latency, a hand-built one may not. */
const LATENCY_DEFAULTS = Object.fromEntries(
  Object.entries(LatencySpecSchema.properties).flatMap(([field, schema]) => ('default' in schema ? [[field, schema.default as unknown]] : [])),
) as LatencySpec;

/**
 * The request of a search job: spec.search.latency with defaults (seq = config.max_len),
 * spec.search.space resolved against config, cache dir from spec.data.cache_dir else
 * GBP_CACHE_DIR else ~/.cache/gbp.
 */
export function latencyRequestOf(spec: JobSpec, config: ModelConfig, backend: string): LatencyRequest {
  if (spec.search === undefined) throw new Error(`job ${spec.id}: no search section, so no latency request`);
  if (spec.search.space === undefined) throw new Error(`job ${spec.id}: search.space is not set (a pipeline fills it from the supernet stage)`);
  const latency = spec.search.latency ?? LATENCY_DEFAULTS;
  if (latency.seq !== undefined && latency.seq > config.max_len) {
    throw new JobSpecError([`search.latency.seq: ${latency.seq} is more than the model's max_len ${config.max_len} (leave it out to measure at max_len)`]);
  }
  return {
    config,
    space: resolveSearchSpace(spec.search.space, config, 'search.space'),
    batch: latency.batch,
    seq: latency.seq ?? config.max_len,
    samples: latency.samples,
    runs: latency.runs,
    threads: latency.threads,
    backend,
    cacheDir: spec.data.cache_dir ?? defaultCacheDir(),
  };
}

/** A cached file holds the model and the key fields it was measured for. */
type CachedFile = LatencyModel & { key: string; measured_for: ReturnType<typeof keyFields> };

/** The cached model for this request on this machine, or undefined (a cache for another machine/backend/space is ignored). */
export function cachedLatencyModel(request: LatencyRequest): LatencyModel | undefined {
  let file: CachedFile;
  try {
    file = JSON.parse(readFileSync(latencyCachePath(request), 'utf8')) as CachedFile;
  } catch {
    return undefined; // absent or unreadable: measured again, and the file rewritten
  }
  // The file name is a hash; the contents are checked too, so a copied or edited file is never trusted.
  const expected = keyFields(request);
  if (file.key !== latencyCacheKey(request) || JSON.stringify(file.measured_for) !== JSON.stringify(expected)) return undefined;
  if (file.machine !== expected.machine || file.backend !== request.backend || file.threads !== request.threads) return undefined;
  if (file.batch !== request.batch || file.seq !== request.seq || file.kind !== 'linear-flops') return undefined;
  if (!Array.isArray(file.coefficients) || file.coefficients.length !== LATENCY_FEATURES.length || !file.coefficients.every(Number.isFinite)) return undefined;
  if (!(typeof file.reference_ms === 'number' && file.reference_ms > 0)) return undefined;
  return file;
}

/** The seed of the sub-networks a latency model is fitted on: fixed, so a request always measures the same ones. */
const SAMPLE_SEED = 14;

/**
 * Loads the cached model or measures `samples` sub-networks (plus the full model, the largest and
 * the smallest), fits, caches atomically.
 */
export async function latencyModelFor(
  request: LatencyRequest,
  options: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<{ model: LatencyModel; cached: boolean; path: string }> {
  const path = latencyCachePath(request);
  const cached = cachedLatencyModel(request);
  if (cached) return { model: cached, cached: true, path };

  const { config, space } = request;
  const rng = Rng.derive(SAMPLE_SEED, 'latency-samples');
  const full: SubnetArch = { layers: config.num_layers, heads: Array.from({ length: config.num_layers }, (_, i) => config.heads_per_layer?.[i] ?? config.num_heads), ffn: Array.from({ length: config.num_layers }, (_, i) => config.dff_per_layer?.[i] ?? config.dff) };
  const archs = [full, largestArch(space), smallestArch(space), ...Array.from({ length: request.samples }, () => sampleArch(space, rng))];
  const settings = { batch: request.batch, seq: request.seq, runs: request.runs, threads: request.threads };
  const ms = await measureLatencies(
    archs.map((arch) => archConfig(config, arch)),
    settings,
    options,
  );
  const samples: LatencySample[] = archs.map((arch, i) => ({ arch, ms: ms[i]! }));
  const fitted = fitLatencyModel(config, samples, { batch: request.batch, seq: request.seq, backend: request.backend, threads: request.threads, referenceMs: samples[0]!.ms, rng: Rng.derive(SAMPLE_SEED, 'latency-held-out') });
  const file: CachedFile = { ...fitted, key: latencyCacheKey(request), measured_for: keyFields(request) };
  await writeJsonAtomic(path, file);
  return { model: file, cached: false, path };
}

/** The budget in ms: latency_ms as given, speedup as model.reference_ms / speedup. */
export function budgetMs(model: LatencyModel, budget: SearchBudgetSpec): number {
  if (budget.latency_ms !== undefined) return budget.latency_ms;
  if (budget.speedup !== undefined) return model.reference_ms / budget.speedup;
  throw new SearchBudgetError('search.budget: give latency_ms or speedup');
}

/** The budget as the spec gave it, with its ms: `speedup 4 (12.0 ms / 4 = 3.0 ms)`. */
function describeBudget(model: LatencyModel, budget: SearchBudgetSpec): string {
  const ms = budgetMs(model, budget);
  return budget.speedup !== undefined ? `search.budget.speedup ${budget.speedup} (the full model's ${model.reference_ms.toFixed(2)} ms / ${budget.speedup} = ${ms.toFixed(2)} ms)` : `search.budget.latency_ms ${ms}`;
}

/**
 * Throws SearchBudgetError (a clear message with both numbers) when even the smallest sub-network
 * of the space is predicted over the budget window.
 */
export function checkSearchBudget(model: LatencyModel, config: ModelConfig, space: SearchSpace, search: Pick<NonNullable<JobSpec['search']>, 'budget' | 'window'>): void {
  const smallest = smallestArch(space);
  const floor = predictLatency(model, config, smallest);
  const high = search.window[1];
  const ms = budgetMs(model, search.budget);
  if (floor > ms * high) {
    throw new SearchBudgetError(
      `${describeBudget(model, search.budget)} is below the smallest sub-network of the space: ${archKey(smallest)} is predicted at ${floor.toFixed(2)} ms ` +
        `(over the window's ${high} x ${ms.toFixed(2)} = ${(ms * high).toFixed(2)} ms at batch ${model.batch} x ${model.seq} on ${model.backend}, ${model.threads} thread${model.threads === 1 ? '' : 's'}); raise the budget or widen the space`,
    );
  }
}

/**
 * measureLatency of each config, in MEASURE_PASSES passes over all of them, the lower median kept:
 * a burst of other work on the machine slows a model's runs in one pass, rarely in both (one pass on
 * a busy machine fitted with 28 % held-out error, where a quiet one fits with 1-4 %). What the fit
 * and the search's finalists are both measured with, so their figures compare.
 */
export async function measureLatencies(
  configs: readonly ModelConfig[],
  settings: { batch: number; seq: number; runs: number; threads: number },
  options: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<number[]> {
  const ms = configs.map(() => Number.POSITIVE_INFINITY);
  const total = MEASURE_PASSES * configs.length;
  for (let pass = 0; pass < MEASURE_PASSES; pass++) {
    for (const [i, config] of configs.entries()) {
      throwIfAborted(options.signal, 'latency measurement aborted');
      ms[i] = Math.min(ms[i]!, await measureLatency(config, settings));
      options.onProgress?.(pass * configs.length + i + 1, total);
    }
  }
  return ms;
}

/** A full-length synthetic batch of `batch` x `seq` token ids (fixed seed): what latency is measured on. */
export function syntheticLatencyBatch(config: Pick<ModelConfig, 'vocab_size'>, batch: number, seq: number) {
  const rng = new Rng(7);
  const examples: EncodedExample[] = Array.from({ length: batch }, (_, i) => {
    const ids = new Int32Array(seq);
    const typeIds = new Int32Array(seq);
    for (let t = 0; t < seq; t++) {
      // [CLS]-like id 2 first, then ids above the special tokens; two segments.
      ids[t] = t === 0 ? 2 : Math.min(5, config.vocab_size - 1) + rng.int(Math.max(1, config.vocab_size - 5));
      typeIds[t] = t < seq / 2 ? 0 : 1;
    }
    return { ids, typeIds, label: i % 2 };
  });
  return makeBatches(examples, batch, { padId: 0, groupByLength: false })[0]!;
}

/**
 * Median ms of a forward pass of `config` (a full or compacted model) at batch x seq on `threads`
 * threads, random weights: the one measurement the fit, the finalists and the budget use.
 */
export async function measureLatency(config: ModelConfig, options: { batch: number; seq: number; runs: number; threads: number }): Promise<number> {
  if (options.seq > config.max_len) throw new Error(`latency: sequence length ${options.seq} is more than the model's max_len ${config.max_len}`);
  const model = InferenceModel.random(config, 0);
  try {
    if (options.threads > 1) await model.useThreads(options.threads, 'search.latency.threads');
    const input = syntheticLatencyBatch(config, options.batch, options.seq);
    await model.predict(input); // warm-up: the wasm backend packs the weights on first use
    const times: number[] = [];
    for (let r = 0; r < options.runs; r++) {
      const t0 = performance.now();
      await model.predict(input);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    model.dispose();
  }
}
