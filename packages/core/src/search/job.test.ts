import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.js';
import { initBackend } from '../backend/index.js';
import { resolveJobSpec, runJob, type PartialJobSpec } from '../job.js';
import { readInitCheckpoint, loadWeightsAndMasks } from '../job/checkpoint.js';
import type { JobEvent, JobResult } from '../events.js';
import { forward, GatedBert, resolveModelConfig } from '../model/index.js';
import { makeBatches } from '../data/index.js';
import { Rng } from '../rng.js';
import { InferenceModel } from '../model/inference.js';
import { readModelFolder } from '../model/folder.js';
import { loadModel } from '../model/source.js';
import { writeSyntheticSst2 } from '../testing/conformance.js';
import { SearchBudgetError } from './evolution.js';
import { latencyModelFor, latencyRequestOf } from './latency-cache.js';
import { subnetLookup } from './subnet.js';
import type { SubnetArch } from './space.js';
import type { SearchSummary } from './report.js';

let root: string;
let supernetDir: string;
const MODEL = { size: 'tiny', num_layers: 2, d_model: 32, num_heads: 4, dff: 64, vocab_size: 120, max_len: 16 } as const;
const SPACE = { layers: [1, 2], heads: [1, 2, 4], ffn: [16, 32, 64] };

const base = (name: string): PartialJobSpec => ({
  id: name,
  task: 'sst2',
  backend: 'wasm',
  model: { ...MODEL },
  train: { epochs: 1, batch_size: 16, max_eval_examples: 32, learning_rate: 2e-3, seed: 5 },
  data: { dir: join(root, 'data'), source: 'local', offline: true, cache_dir: join(root, 'cache') },
  output_dir: join(root, 'out', name),
});

/** A search spec on the supernet: a small evolutionary search, a cheap latency model (29 samples, one run each; see fixLatencyModel). */
const searchSpec = (name: string, search: Record<string, unknown> = {}, extra: Partial<PartialJobSpec> = {}) =>
  resolveJobSpec({
    ...base(name),
    init_checkpoint: supernetDir,
    search: { space: SPACE, budget: { speedup: 1.5 }, population: 6, generations: 1, finalists: 3, latency: { batch: 4, samples: 29, runs: 1 }, ...search },
    ...extra,
  } as PartialJobSpec);

beforeAll(async () => {
  await initBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'gbp-search-job-'));
  await writeSyntheticSst2(join(root, 'data'), { train: 64, validation: 32 });
  // The "supernet": a short ordinary training job's checkpoint (the search reads weights and masks only).
  supernetDir = join(root, 'out', 'supernet');
  await runJob(resolveJobSpec(base('supernet')), () => undefined);
  await fixLatencyModel(searchSpec('any'));
});

/**
 * Measured latency of a model this small is mostly noise on a busy machine, so the cached latency
 * model the jobs find is replaced by a known one: 1 ms a layer and 0.5 ms a head, the full model
 * (2 layers, 8 heads) 6 ms. The budget check and the window then do not depend on timing; only the
 * finalists' measured latencies do, and the tests check their presence, not their values.
 */
async function fixLatencyModel(spec: ReturnType<typeof searchSpec>) {
  const { path } = await latencyModelFor(latencyRequestOf(spec, resolveModelConfig(MODEL, 2), 'wasm'));
  const measured = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...measured, coefficients: [0, 1, 0.5, 0, 0, 0], reference_ms: 6 }));
}
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** RFC 4180 rows: quoted cells may hold commas. */
function parseCsv(text: string): Record<string, string>[] {
  const lines = text.trim().split('\n');
  const cells = (line: string) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].slice(0, -1).map((m) => m[1]!.replace(/^"(.*)"$/, '$1').replace(/""/g, '"'));
  const header = cells(lines[0]!);
  return lines.slice(1).map((line) => Object.fromEntries(cells(line).map((v, i) => [header[i]!, v])));
}

describe('search job', () => {
  let result: JobResult;
  let events: JobEvent[];
  const spec = () => searchSpec('search');

  beforeAll(async () => {
    events = [];
    result = await runJob(spec(), (e) => events.push(e));
  });

  it('writes candidates.csv: one row per scored candidate, finalists measured, exactly one chosen', () => {
    const out = spec().output_dir;
    const rows = parseCsv(readFileSync(join(out, 'search', 'candidates.csv'), 'utf8'));
    const summary = JSON.parse(readFileSync(join(out, 'search', 'summary.json'), 'utf8')) as SearchSummary;
    const progress = events.filter((e) => e.type === 'progress');
    expect(rows.length).toBe(summary.candidates);
    expect(progress).toHaveLength(rows.length); // one progress event per scored candidate
    expect(new Set(rows.map((r) => r.arch)).size).toBe(rows.length);
    const finalists = rows.filter((r) => r.finalist === 'true');
    expect(finalists).toHaveLength(3);
    for (const r of rows) {
      expect(r.measured_ms !== '').toBe(r.finalist === 'true');
      expect(Number(r.predicted_ms)).toBeGreaterThan(0);
      expect(r.arch).toBe(`L${r.layers}-h${r.heads}-f${r.ffn}`);
    }
    // The finalists are the fittest.
    const worstFinalist = Math.min(...finalists.map((r) => Number(r.fitness)));
    expect(rows.filter((r) => r.finalist !== 'true').every((r) => Number(r.fitness) <= worstFinalist)).toBe(true);
    const chosen = rows.filter((r) => r.chosen === 'true');
    expect(chosen).toHaveLength(1);
    expect(chosen[0]!.finalist).toBe('true');
    expect(summary.chosen.arch).toBe(chosen[0]!.arch);
    expect(summary.chosen.measured_ms).toBe(Number(chosen[0]!.measured_ms));
    expect(summary).toMatchObject({ reference_ms: 6, budget_ms: 4, window: [0.85, 1.1] });
    // Within the window (3.4-4.4 ms of the fixed latency model): two layers, three or four heads in all.
    expect(rows.every((r) => r.layers === '2' && [3, 4].includes((r.heads ?? '').split(',').reduce((n, h) => n + Number(h), 0)))).toBe(true);
    expect(summary.finalists_error.finalists).toBe(3);
  });

  it('writes latency_model.json with its fit error and the reference latency', () => {
    const model = JSON.parse(readFileSync(join(spec().output_dir, 'search', 'latency_model.json'), 'utf8'));
    expect(model).toMatchObject({ kind: 'linear-flops', backend: 'wasm', batch: 4, seq: 16, threads: 1, fit: { samples: 24, held_out: 8 } });
    expect(model.fit.mean_abs_error).toBeGreaterThanOrEqual(0);
    expect(model.reference_ms).toBeGreaterThan(0);
  });

  it("extracts the chosen sub-network as model/: its arch's config, and logits equal to its forward on the supernet", async () => {
    const out = spec().output_dir;
    const summary = JSON.parse(readFileSync(join(out, 'search', 'summary.json'), 'utf8')) as SearchSummary;
    const arch: SubnetArch = { layers: summary.chosen.layers, heads: summary.chosen.heads, ffn: summary.chosen.ffn };
    const folder = await readModelFolder(join(out, 'model'));
    expect(folder.config).toMatchObject({ num_layers: arch.layers, heads_per_layer: arch.heads, dff_per_layer: arch.ffn });
    expect(folder.task).toBe('sst2');
    expect(folder.vocab).toBeDefined();
    expect(folder.compaction?.max_abs_logit_diff).toBeLessThan(1e-4);
    expect(result.files.model).toBe(join(out, 'model'));

    // The job folder itself is a model reference, as for a compacted job (gbp infer, bench, export).
    const loaded = await loadModel(out);
    expect(loaded).toMatchObject({ kind: 'job', dir: join(out, 'model'), config: { heads_per_layer: arch.heads, dff_per_layer: arch.ffn } });

    const supernet = new GatedBert(resolveModelConfig(MODEL, 2), { seed: 1 });
    const inference = InferenceModel.fromWeights(loaded.config, loaded.weights);
    try {
      const init = await readInitCheckpoint(supernetDir, () => undefined);
      loadWeightsAndMasks(supernet, init.trainer, supernetDir);
      const batch = randomBatch(MODEL.vocab_size);
      const { config, lookup } = subnetLookup(supernet, arch);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(forward(config, lookup, batch, { training: false }), inference.logits(batch)))).dataSync()[0]!);
      expect(diff).toBeLessThan(1e-4);
    } finally {
      supernet.dispose();
      inference.dispose();
    }
  });

  it("records the chosen sub-network's validation metrics as the job's result, like a training job's", () => {
    const out = spec().output_dir;
    const summary = JSON.parse(readFileSync(join(out, 'search', 'summary.json'), 'utf8')) as SearchSummary;
    expect(result.final_metrics.accuracy).toBeCloseTo(summary.chosen.fitness, 10);
    const metadataFile = readdirSync(out).find((f) => f.startsWith('metadata_'))!;
    expect(JSON.parse(readFileSync(join(out, metadataFile), 'utf8'))).toMatchObject({ status: 'done', final_metrics: { accuracy: summary.chosen.fitness } });
    expect(readdirSync(out).some((f) => f.startsWith('results_') && f.endsWith('.csv'))).toBe(true);
    expect(events.find((e) => e.type !== 'log')?.type).toBe('start');
    expect(events.at(-1)?.type).toBe('done');
    expect(events.some((e) => e.type === 'epoch')).toBe(true);
  });

  it('is deterministic given its seed: the same candidates in the same order', async () => {
    await runJob(searchSpec('search-again'), () => undefined);
    const keys = (name: string) => parseCsv(readFileSync(join(root, 'out', name, 'search', 'candidates.csv'), 'utf8')).map((r) => `${r.arch} ${r.fitness}`);
    expect(keys('search-again')).toEqual(keys('search'));
  });
});

describe('random search job', () => {
  it('scores up to `candidates` sub-networks, all of generation 0, and chooses one of its finalists', async () => {
    const spec = searchSpec('random', { method: 'random', candidates: 5, finalists: 2 });
    const result = await runJob(spec, () => undefined);
    const rows = parseCsv(readFileSync(join(spec.output_dir, 'search', 'candidates.csv'), 'utf8'));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(5);
    expect(rows.every((r) => r.generation === '0')).toBe(true);
    expect(rows.filter((r) => r.finalist === 'true')).toHaveLength(Math.min(2, rows.length));
    expect(rows.filter((r) => r.chosen === 'true' && r.finalist === 'true')).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(spec.output_dir, 'search', 'summary.json'), 'utf8')).method).toBe('random');
    expect(result.files.search_candidates).toBe(join(spec.output_dir, 'search', 'candidates.csv'));
  });
});

describe('search job abort', () => {
  it('stops between candidates: an AbortError, status aborted, no search results written', async () => {
    const spec = searchSpec('aborted');
    const controller = new AbortController();
    const events: JobEvent[] = [];
    const error = await runJob(spec, (e) => {
      events.push(e);
      if (e.type === 'progress') controller.abort();
    }, { signal: controller.signal }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('AbortError');
    expect(events.filter((e) => e.type === 'progress')).toHaveLength(1);
    const metadataFile = readdirSync(spec.output_dir).find((f) => f.startsWith('metadata_'))!;
    expect(JSON.parse(readFileSync(join(spec.output_dir, metadataFile), 'utf8')).status).toBe('aborted');
    expect(existsSync(join(spec.output_dir, 'search', 'candidates.csv'))).toBe(false);
    expect(existsSync(join(spec.output_dir, 'model'))).toBe(false);
  });
});

describe('search job refusals, before any work', () => {
  const refusal = async (spec: ReturnType<typeof searchSpec>) => {
    const events: JobEvent[] = [];
    const error = await runJob(spec, (e) => events.push(e)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    return { error, events };
  };

  it('without init_checkpoint: a search starts from a supernet', async () => {
    const spec = searchSpec('no-init');
    delete (spec as { init_checkpoint?: string }).init_checkpoint;
    const { error } = await refusal(spec);
    expect(error?.message).toContain("init_checkpoint: not set; a search job starts from a supernet's checkpoint (in a pipeline, set init_from to the supernet stage)");
    expect(existsSync(spec.output_dir)).toBe(false);
  });

  it('without search.space, or with one larger than the model', async () => {
    const spec = searchSpec('no-space');
    delete (spec.search as { space?: unknown }).space;
    expect((await refusal(spec)).error?.message).toContain('search.space: not set');
    const big = searchSpec('big-space', { space: { layers: [1, 3], heads: [8] } });
    const { error } = await refusal(big);
    expect(error?.message).toContain("search.space.layers: 3 is more than the model's 2 layers");
    expect(error?.message).toContain("search.space.heads: 8 is more than the model's 4 heads");
    expect(existsSync(big.output_dir)).toBe(false);
  });

  it('with a budget below the smallest sub-network: no candidate scored, no search files', async () => {
    const spec = searchSpec('tight', { budget: { latency_ms: 1e-6 } });
    const { error, events } = await refusal(spec);
    expect(error).toBeInstanceOf(SearchBudgetError);
    expect(error?.message).toMatch(/^search\.budget\.latency_ms 0\.000001 is below the smallest sub-network of the space: L1-h1-f16 is predicted at 1\.50 ms/);
    expect(events.filter((e) => e.type === 'progress')).toHaveLength(0);
    expect(events.at(-1)).toMatchObject({ type: 'failed', error: { message: error?.message } });
    expect(existsSync(join(spec.output_dir, 'search'))).toBe(false);
  });

  it('warns of a latency model with a high held-out error, naming its file', async () => {
    const spec = searchSpec('noisy', { budget: { latency_ms: 1e-6 }, latency: { batch: 4, samples: 30, runs: 1 } });
    const { path } = await latencyModelFor(latencyRequestOf(spec, resolveModelConfig(MODEL, 2), 'wasm'));
    const measured = JSON.parse(readFileSync(path, 'utf8')) as { fit: Record<string, number> };
    writeFileSync(path, JSON.stringify({ ...measured, fit: { ...measured.fit, mean_abs_error: 0.45 } }));
    const { events } = await refusal(spec);
    const warnings = events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []));
    expect(warnings).toContain(`latency model: its held-out error (mean 45 %) is high; the measurements were noisy (a busy machine?): raise search.latency.runs, or remove ${path} to measure again`);
  });
});

/** Random token ids of several lengths (padding included), as one batch. */
function randomBatch(vocab: number) {
  const rng = new Rng(4);
  const examples = Array.from({ length: 6 }, (_, i) => {
    const n = 4 + rng.int(12);
    return { ids: Int32Array.from({ length: n }, (_, t) => (t === 0 ? 2 : 5 + rng.int(vocab - 5))), typeIds: new Int32Array(n), label: i % 2 };
  });
  return makeBatches(examples, 6, { padId: 0 })[0]!;
}
