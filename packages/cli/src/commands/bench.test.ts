import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelInfo } from '@gbp/core';
import { probeWebgpu } from '@gbp/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallConfig, writeJobFolder, writeModelFixture } from '../../test/fixtures/bench-folders.js';
import { fakeClock, fakeModel, type FakeClock } from '../../test/fixtures/fake-bench-model.js';
import { UsageError } from '../args.js';
import { readBenchFile } from '../bench/bench-file.js';
import { variantName, type RuntimeVariant } from '../bench/runtimes.js';
import type { TargetSource } from '../bench/targets.js';
import { main } from '../cli.js';
import { benchCommand } from './bench.js';
import { captureIO } from '../../test/fixtures/capture-io.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const io = () => captureIO(dir);

/** Fake models by label: `dense` takes 40 ms a run, anything else 10 ms; `short` takes at most 64 tokens. */
function fakeLoad(clock: FakeClock) {
  return async (source: TargetSource) =>
    fakeModel(clock, source.label, source.label.startsWith('dense') ? 40 : 10, { maxLen: source.label === 'short' ? 64 : 128, params: source.label.startsWith('dense') ? 5000 : 1000 });
}

const pipeline = join(dir, 'pipe');
/** What compaction leaves of smallConfig(): heads and FFN neurons cut per layer. */
const compacted = smallConfig({ heads_per_layer: [2, 1], dff_per_layer: [16, 0] });
beforeAll(async () => {
  await writeJobFolder(pipeline, 'pruned', 'movement', 0.75, { config: compacted });
  await writeJobFolder(pipeline, 'dense', 'baseline', 0);
  await writeJobFolder(pipeline, 'stopped', 'movement', 0.2, { model: false });
  await writeJobFolder(dir, 'short', 'movement', 0.5);
});

describe('gbp bench arguments', () => {
  it('exits 2 naming each bad number, before loading anything', async () => {
    const t = io();
    expect(await main(['bench', 'tiny', '--batch', '8,0,x', '--seq', '-3', '--repeats', '0', '--mode', 'fast'], t.value)).toBe(2);
    expect(t.err().trim().split('\n')).toEqual([
      "gbp bench: --batch: '0' is not a positive integer",
      "gbp bench: --batch: 'x' is not a positive integer",
      "gbp bench: --seq: '-3' is not a positive integer",
      "gbp bench: --repeats must be a positive integer, got '0'",
      "gbp bench: --mode must be one of latency, throughput, balanced, got 'fast'",
    ]);
  });

  it('exits 2 without a target, and for an unknown one', async () => {
    const none = io();
    expect(await main(['bench', '--batch', '1'], none.value)).toBe(2);
    expect(none.err()).toContain('gbp bench: give at least one TARGET (a size preset, model folder, job or pipeline results folder); see gbp bench -h');
    const unknown = io();
    expect(await main(['bench', 'tiny', 'huge'], unknown.value)).toBe(2);
    expect(unknown.err()).toBe('gbp bench: huge: no such folder, and not a size preset (tiny, small, base, large)\n');
  });

  it('refuses a sequence longer than a target\'s max_len before measuring anything', async () => {
    const clock = fakeClock();
    const t = io();
    await expect(benchCommand([pipeline, join(dir, 'results_short'), '--seq', '64,128', '--backend', 'cpu'], t.value, { load: fakeLoad(clock), now: clock.now })).rejects.toThrow(
      new UsageError('gbp bench: short takes sequences of at most 64 tokens (its max_len); --seq 128 is longer'),
    );
    expect(clock.log).toEqual([]);
  });

  it('refuses a preset\'s too long sequence before building any model', async () => {
    const loaded: string[] = [];
    const t = io();
    const load = async (source: TargetSource) => (loaded.push(source.label), fakeModel(fakeClock(), source.label, 1));
    await expect(benchCommand(['tiny', 'large', '--seq', '128,512', '--backend', 'cpu'], t.value, { load })).rejects.toThrow(
      new UsageError(
        'gbp bench: tiny takes sequences of at most 128 tokens (its max_len); --seq 512 is longer\ngbp bench: large takes sequences of at most 128 tokens (its max_len); --seq 512 is longer',
      ),
    );
    expect(loaded).toEqual([]);
  });

  it('exits 2 for an unknown --runtime and a bad --threads, before loading anything; --threads alone applies to tfjs', async () => {
    const bad = io();
    expect(await main(['bench', 'tiny', '--runtime', 'tfjs,torch', '--threads', '0'], bad.value)).toBe(2);
    expect(bad.err().trim().split('\n')).toEqual([
      "gbp bench: --runtime: unknown value 'torch'; expected one of tfjs, onnx",
      "gbp bench: --threads: '0' is not a positive integer",
    ]);
    const loaded: string[] = [];
    const clock = fakeClock();
    const t = io();
    const load = async (source: TargetSource, variant: RuntimeVariant) => (loaded.push(`${source.label} ${variantName(variant)}`), fakeModel(clock, source.label, 1));
    expect(await benchCommand(['tiny', '--threads', '2', '--batch', '1', '--seq', '8', '--repeats', '1', '--warmup', '1', '--backend', 'cpu'], t.value, { load, now: clock.now })).toBe(0);
    expect(loaded).toEqual(['tiny tfjs x2']);
  });

  it('refuses --json naming a folder before measuring', async () => {
    mkdirSync(join(dir, 'out'));
    const t = io();
    expect(await main(['bench', 'tiny', '--json', 'out'], t.value)).toBe(2);
    expect(t.err()).toBe('gbp bench: --json out is a folder; give a file name\n');
  });
});

describe('gbp bench on fake models', () => {
  it('measures a pipeline (dense first) and writes bench.json: rows per target and shape, speedup against dense', async () => {
    const clock = fakeClock();
    const t = io();
    const code = await benchCommand([pipeline, '--batch', '1,8', '--seq', '32', '--repeats', '3', '--warmup', '1', '--backend', 'cpu', '--json', 'b.json'], t.value, {
      load: fakeLoad(clock),
      now: clock.now,
    });
    expect(code).toBe(0);
    const bench = readBenchFile(join(dir, 'b.json'));
    expect(bench).toMatchObject({ backend: 'cpu', repeats: 3 });
    expect(bench.rows).toEqual(
      [1, 8].flatMap((batch) => [
        { target: 'dense', path: join(pipeline, 'results_dense', 'model'), job: 'dense', method: 'baseline', runtime: 'tfjs', batch, seq: 32, median_ms: 40, p90_ms: 40, seq_per_s: batch / 0.04, params: 5000, weight_bytes: 20000, speedup: 1 },
        { target: 'pruned', path: join(pipeline, 'results_pruned', 'model'), job: 'pruned', method: 'movement', runtime: 'tfjs', batch, seq: 32, median_ms: 10, p90_ms: 10, seq_per_s: batch / 0.01, params: 1000, weight_bytes: 4000, speedup: 4 },
      ]),
    );
    expect(t.out()).toMatch(/^target\s+batch\s+seq\s+median ms\s+p90 ms\s+seq\/s\s+params \(M\)\s+weights \(MiB\)\s+speedup$/m);
    expect(t.out()).toMatch(/^pruned\s+8\s+32\s+10\.0\s+10\.0\s+800\.0\s+0\.00\s+0\.0\s+4\.00$/m);
    expect(t.out()).toContain(`json: ${join(dir, 'b.json')}`);
    expect(t.err()).toContain('batch 8 x seq 32: round 3/3: dense 40.0 ms, pruned 10.0 ms');
    expect(t.err()).toContain('batch 1 x seq 32: warm-up pruned (1 run)');
    expect(t.err()).toContain(`gbp bench: skipping ${join(pipeline, 'results_stopped')}: no model/ (the job failed, was stopped, or ran on an older gbp)`);
  });
  it('--runtime tfjs,onnx --threads 1,2: every target on each runtime, interleaved, rows carrying runtime and threads, speedup against the first', async () => {
    const clock = fakeClock();
    const loads: string[] = [];
    const load = async (source: TargetSource, variant: RuntimeVariant) => {
      loads.push(`${source.label} ${source.kind === 'folder' ? source.path : source.preset} ${variantName(variant)}`);
      return fakeModel(clock, `${source.label} ${variantName(variant)}`, variant.runtime === 'tfjs' ? (source.label.startsWith('dense') ? 40 : 10) : 5 * variant.threads);
    };
    const t = io();
    expect(await benchCommand([pipeline, '--runtime', 'tfjs', '--runtime', 'onnx', '--threads', '1,2', '--batch', '8', '--seq', '32', '--repeats', '2', '--warmup', '1', '--backend', 'cpu', '--json', 'rt.json'], t.value, { load, now: clock.now })).toBe(0);
    const dense = join(pipeline, 'results_dense', 'model');
    const pruned = join(pipeline, 'results_pruned', 'model');
    const order = ['tfjs', 'tfjs x2', 'onnx x1', 'onnx x2'].flatMap((v) => [`dense ${v}`, `pruned ${v}`]);
    expect(loads).toEqual(order.map((l) => l.replace(/^(dense|pruned) /, (_, name: string) => `${name} ${name === 'dense' ? dense : pruned} `)));
    expect(clock.log.slice(0, 8)).toEqual(order.map((l) => `${l} 8x32`));
    const rows = readBenchFile(join(dir, 'rt.json')).rows;
    expect(rows.map((r) => [r.target, r.path, r.runtime, r.threads, r.median_ms, r.speedup])).toEqual([
      ['dense', dense, 'tfjs', undefined, 40, 1],
      ['pruned', pruned, 'tfjs', undefined, 10, 4],
      ['dense', dense, 'tfjs', 2, 40, 1],
      ['pruned', pruned, 'tfjs', 2, 10, 4],
      ['dense', dense, 'onnx', 1, 5, 8],
      ['pruned', pruned, 'onnx', 1, 5, 8],
      ['dense', dense, 'onnx', 2, 10, 4],
      ['pruned', pruned, 'onnx', 2, 10, 4],
    ]);
    expect(t.out()).toMatch(/^pruned\s+onnx x2\s+8\s+32\s+10\.0\s/m);
    expect(t.err()).toContain('batch 8 x seq 32: round 2/2: dense (tfjs) 40.0 ms, pruned (tfjs) 10.0 ms, dense (tfjs x2) 40.0 ms, pruned (tfjs x2) 10.0 ms, dense (onnx x1) 5.00 ms');
  });

  it('stops on a signal between runs: exit 130, no JSON written', async () => {
    const clock = fakeClock();
    const t = io();
    let interrupt: (signal: NodeJS.Signals) => void = () => undefined;
    t.value.onSignals = (handler) => ((interrupt = handler), () => undefined);
    const load = async (source: TargetSource) => {
      const model = fakeModel(clock, source.label, 1);
      return { ...model, logits: (input: Parameters<typeof model.logits>[0]) => (clock.log.length === 3 && interrupt('SIGINT'), model.logits(input)) };
    };
    expect(await benchCommand(['tiny', '--batch', '1', '--seq', '8', '--repeats', '5', '--warmup', '1', '--backend', 'cpu', '--json', 'stopped.json'], t.value, { load, now: clock.now })).toBe(130);
    expect(clock.log).toHaveLength(4);
    expect(t.err()).toContain('gbp bench: stopped; nothing written');
    expect(existsSync(join(dir, 'stopped.json'))).toBe(false);
  });
});

describe('gbp bench on the real backend', () => {
  it('measures two tiny presets interleaved and reports sane numbers', async () => {
    const t = io();
    const code = await main(['bench', 'tiny', 'tiny', '--batch', '2', '--seq', '8', '--repeats', '2', '--warmup', '1', '--backend', 'wasm', '--json', 'real.json'], t.value);
    expect(t.err()).not.toContain('gbp: ');
    expect(code).toBe(0);
    const bench = readBenchFile(join(dir, 'real.json'));
    expect(bench.backend).toBe('wasm');
    expect(bench.rows.map((r) => [r.target, r.batch, r.seq])).toEqual([
      ['tiny', 2, 8],
      ['tiny#2', 2, 8],
    ]);
    for (const row of bench.rows) {
      expect(row.median_ms).toBeGreaterThan(0);
      expect(row.p90_ms).toBeGreaterThanOrEqual(row.median_ms);
      expect(row.seq_per_s).toBeCloseTo(2000 / row.median_ms, 6);
      expect(row.params).toBe(modelInfo({ size: 'tiny' }).num_params);
      expect(row.weight_bytes).toBe(row.params * 4);
    }
    expect(bench.rows[0]!.speedup).toBe(1);
    expect(bench.rows[1]!.speedup).toBeCloseTo(bench.rows[0]!.median_ms / bench.rows[1]!.median_ms, 9);
    expect(readFileSync(join(dir, 'real.json'), 'utf8')).toMatch(/^\{\n {2}"backend": "wasm"/);
  });

  it('measures the model folders of a pipeline as core loads them: the compacted job has its own parameter count', async () => {
    const t = io();
    expect(await main(['bench', pipeline, '--batch', '2', '--seq', '16', '--repeats', '2', '--warmup', '1', '--backend', 'wasm', '--json', 'pipe.json'], t.value)).toBe(0);
    const rows = readBenchFile(join(dir, 'pipe.json')).rows;
    expect(rows.map((r) => [r.target, r.method, r.params])).toEqual([
      ['dense', 'baseline', modelInfo(smallConfig()).num_params],
      ['pruned', 'movement', modelInfo(compacted).num_params],
    ]);
    expect(rows[1]!.params).toBeLessThan(rows[0]!.params);
  });

  it('--runtime tfjs,onnx times the same model folders on gbp and on onnxruntime-node: same parameters, both runtimes\' rows', async () => {
    const t = io();
    expect(await main(['bench', pipeline, '--runtime', 'tfjs,onnx', '--batch', '2', '--seq', '16', '--repeats', '2', '--warmup', '1', '--backend', 'wasm', '--json', 'both.json'], t.value)).toBe(0);
    const rows = readBenchFile(join(dir, 'both.json')).rows;
    expect(rows.map((r) => [r.target, r.runtime, r.threads, r.params])).toEqual([
      ['dense', 'tfjs', undefined, modelInfo(smallConfig()).num_params],
      ['pruned', 'tfjs', undefined, modelInfo(compacted).num_params],
      ['dense', 'onnx', 1, modelInfo(smallConfig()).num_params],
      ['pruned', 'onnx', 1, modelInfo(compacted).num_params],
    ]);
    expect(rows[0]!.path).toBe(rows[2]!.path);
    expect(rows[1]!.path).toBe(rows[3]!.path);
    for (const row of rows) expect(row.median_ms).toBeGreaterThan(0);
    expect(t.out()).toContain("(tfjs on wasm (x threads: gbp's replicas), onnx on onnxruntime-node (x intra-op threads), 2 rounds per shape");
  });

  it('--threads 1,2 on tfjs splits each batch among replicas: same model, one row per thread count', async () => {
    const t = io();
    expect(await main(['bench', 'tiny', '--threads', '1,2', '--batch', '4', '--seq', '16', '--repeats', '2', '--warmup', '1', '--backend', 'wasm', '--json', 'threads.json'], t.value)).toBe(0);
    const rows = readBenchFile(join(dir, 'threads.json')).rows;
    expect(rows.map((r) => [r.target, r.runtime, r.threads, r.params])).toEqual([
      ['tiny', 'tfjs', undefined, modelInfo({ size: 'tiny' }).num_params],
      ['tiny', 'tfjs', 2, modelInfo({ size: 'tiny' }).num_params],
    ]);
    expect(t.out()).toMatch(/^tiny\s+tfjs x2\s+4\s+16\s/m);
  });

  it('exits 2 naming the file when a model folder cannot be loaded, measuring nothing', async () => {
    const broken = await writeModelFixture(join(dir, 'broken'));
    unlinkSync(join(broken, 'model.safetensors'));
    const t = io();
    expect(await main(['bench', 'tiny', 'broken', '--batch', '1', '--seq', '8', '--backend', 'wasm'], t.value)).toBe(2);
    expect(t.err()).toContain(`gbp bench: broken: ${join(broken, 'model.safetensors')}: missing (the model's weights)`);
    expect(t.err()).not.toMatch(/warm-up|round \d/);
  });
});

// Where Dawn finds a GPU adapter, tools/bench/webgpu-check.sh measures webgpu instead.
const webgpu = await probeWebgpu();
describe.skipIf(webgpu.ok)('gbp bench --backend webgpu without a WebGPU adapter', () => {
  it("fails before measuring, with Dawn's reason, and writes nothing", async () => {
    const t = io();
    expect(await main(['bench', 'tiny', '--batch', '1', '--seq', '8', '--repeats', '1', '--warmup', '1', '--backend', 'webgpu', '--json', 'webgpu.json'], t.value)).toBe(1);
    expect(t.err()).toMatch(/backend 'webgpu': no WebGPU adapter \(Dawn found none on this machine: .+\); choose backend wasm/);
    expect(t.out()).not.toContain('median');
    expect(existsSync(join(dir, 'webgpu.json'))).toBe(false);
  });
});
