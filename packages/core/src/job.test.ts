import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from './rng.js';
import { resolveJobSpec, runJob, type PartialJobSpec } from './job.js';
import type { JobEvent } from './events.js';
import { tf } from './tf.js';
import { initBackend } from './backend/index.js';
import { definePruner } from './hooks/define.js';
import { InferenceModel, isModelFolder, readCompactionReport } from './model/index.js';

let root: string;
const WORDS = ['good', 'great', 'fine', 'bad', 'awful', 'poor', 'movie', 'film', 'the', 'a', 'plot', 'acting', 'was', 'very', 'not'];

/** A small sst2-shaped data set: positive iff it contains a positive word. */
async function writeSyntheticSst2(dir: string) {
  const rng = new Rng(3);
  const line = (i: number) => {
    const label = rng.int(2);
    const words = Array.from({ length: 3 + rng.int(6) }, () => WORDS[6 + rng.int(WORDS.length - 6)]!);
    words.splice(rng.int(words.length), 0, WORDS[label === 1 ? rng.int(3) : 3 + rng.int(3)]!);
    return JSON.stringify({ sentence: words.join(' '), label, idx: i });
  };
  await mkdir(join(dir, 'sst2'), { recursive: true });
  await writeFile(join(dir, 'sst2', 'train.jsonl'), `${Array.from({ length: 96 }, (_, i) => line(i)).join('\n')}\n`);
  await writeFile(join(dir, 'sst2', 'validation.jsonl'), `${Array.from({ length: 40 }, (_, i) => line(i)).join('\n')}\n`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gbp-job-'));
  await writeSyntheticSst2(join(root, 'data'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const spec = (name: string, extra: Partial<PartialJobSpec> = {}) =>
  resolveJobSpec({
    id: name,
    task: 'sst2',
    backend: 'wasm',
    model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 4, dff: 64, vocab_size: 120, max_len: 16 },
    train: { epochs: 2, batch_size: 16, learning_rate: 2e-3, seed: 9 },
    data: { dir: join(root, 'data'), source: 'local', offline: true, cache_dir: join(root, 'cache') },
    output_dir: join(root, 'out', name),
    ...extra,
  } as PartialJobSpec);

describe('resolveJobSpec', () => {
  it('applies the schema defaults', () => {
    const s = resolveJobSpec({ task: 'rte', output_dir: '/tmp/x' });
    expect(s).toMatchObject({ id: 'baseline_rte', method: 'baseline', backend: 'auto', model: { size: 'base' }, train: { epochs: 3, batch_size: 32 }, pruning: { end_sparsity: 0.9 } });
  });
  it('names every bad field and what was expected', () => {
    let message = '';
    try {
      resolveJobSpec({ task: 'sst2', output_dir: '/x', train: { epochs: 0, bogus: 1 }, model: { size: 'huge' } } as never);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('train.epochs: must be >= 1');
    expect(message).toContain('train.bogus: is not a known field');
    expect(message).toContain('model.size: must be one of "tiny", "small", "base", "large"');
    expect(() => resolveJobSpec({ task: 'sst2', output_dir: '/x', model: { size: 'tiny', d_model: 30, num_heads: 4 } })).toThrow(/divisible/);
  });
  it('defaults pruning.granularity to weight and pruning.block to [32, 32]; refuses other values, naming the field', () => {
    expect(resolveJobSpec({ task: 'rte', output_dir: '/x' }).pruning).toMatchObject({ granularity: 'weight', block: [32, 32] });
    expect(resolveJobSpec({ task: 'rte', output_dir: '/x', pruning: { granularity: 'block', block: [8, 4] } }).pruning).toMatchObject({ granularity: 'block', block: [8, 4] });
    const messageOf = (pruning: unknown) => {
      try {
        resolveJobSpec({ task: 'sst2', output_dir: '/x', pruning } as never);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    expect(messageOf({ granularity: 'heads' })).toContain('pruning.granularity: must be one of "weight", "block", "structured"');
    expect(messageOf({ block: [0, 32] })).toContain('pruning.block.0: must be >= 1');
    expect(messageOf({ block: [32, 2.5] })).toContain('pruning.block.1: must be integer');
    expect(messageOf({ block: [32] })).toContain('pruning.block: must NOT have fewer than 2 items');
  });
});

describe('runJob', () => {
  it('runs a baseline end to end: events, results folder, checkpoints', async () => {
    const events: JobEvent[] = [];
    const s = spec('baseline');
    await initBackend('wasm');
    const tensorsBefore = tf.memory().numTensors;
    const result = await runJob(s, (e) => events.push(e));
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('log');
    expect(types).toContain('start');
    expect(types.filter((t) => t === 'epoch')).toHaveLength(2);
    expect(types.filter((t) => t === 'checkpoint')).toHaveLength(2);
    expect(types).toContain('eval');
    expect(types).toContain('progress');
    expect(types[types.length - 1]).toBe('done');
    expect(types.indexOf('start')).toBeLessThan(types.indexOf('progress'));
    expect(result.epochs).toHaveLength(2);
    expect(result.final_metrics.accuracy).toBeTypeOf('number');
    expect(result.sparsity.global).toBe(0);

    const files = await readdir(s.output_dir);
    const csv = files.find((f) => /^results_baseline_\d{8}T\d{6}Z\.csv$/.test(f));
    expect(csv).toBeDefined();
    const rows = (await readFile(join(s.output_dir, csv!), 'utf8')).trim().split('\n');
    expect(rows[0]).toBe('epoch,step,lr,train_loss,eval_loss,accuracy,sparsity,wall_time_s');
    expect(rows).toHaveLength(3);
    const metadata = JSON.parse(await readFile(result.files.metadata!, 'utf8'));
    expect(metadata).toMatchObject({ status: 'done', epochs_completed: 2, backend: { name: 'wasm' }, model_info: { num_layers: 1, d_model: 32 } });
    expect(metadata.versions).toMatchObject({ tfjs: '4.22.0', '@gbp/core': expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(JSON.parse(await readFile(result.files.sparsity!, 'utf8'))).toHaveProperty('global', 0);
    const logged = (await readFile(result.files.events!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).type);
    expect(logged).toEqual(types.slice(types.indexOf('log')));
    expect((await readdir(join(s.output_dir, 'checkpoints'))).sort()).toEqual(['step-000000006', 'step-000000012']);
  });

  it('abort writes a checkpoint and rejects with AbortError; resume finishes with the same metrics', async () => {
    const straight = await runJob(spec('straight'), () => undefined);

    const s = spec('aborted');
    const controller = new AbortController();
    const run = runJob(
      s,
      (e) => {
        if (e.type === 'progress' && e.step >= 8) controller.abort();
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const files = await readdir(s.output_dir);
    expect(files).not.toContain('model'); // an aborted job leaves no model
    const metaName = files.find((f) => f.startsWith('metadata_'))!;
    expect(JSON.parse(await readFile(join(s.output_dir, metaName), 'utf8')).status).toBe('aborted');
    const ckpts = await readdir(join(s.output_dir, 'checkpoints'));
    expect(ckpts[ckpts.length - 1]).toMatch(/^step-0000000(08|09|1\d)$/);

    const events: JobEvent[] = [];
    const resumed = await runJob({ ...s, resume: true }, (e) => events.push(e));
    const start = events.find((e) => e.type === 'start');
    expect(start && start.type === 'start' && start.start_step).toBeGreaterThanOrEqual(8);
    expect(resumed.files.metadata).toBe(join(s.output_dir, metaName));
    expect(isModelFolder(join(s.output_dir, 'model'))).toBe(true);
    expect(resumed.epochs).toHaveLength(2);
    resumed.epochs.forEach((r, i) => {
      const e = straight.epochs[i]!;
      expect(r.train_loss).toBeCloseTo(e.train_loss, 5);
      expect(r.eval_loss).toBeCloseTo(e.eval_loss, 5);
      expect(r.metrics.accuracy).toBeCloseTo(e.metrics.accuracy!, 5);
    });
  });

  it('on two threads, a job aborted and resumed ends with the weights of one run straight through, bit for bit; resuming on another count says so', async () => {
    const twoThreads = (name: string) => spec(name, { train: { epochs: 2, batch_size: 16, learning_rate: 2e-3, seed: 9, threads: 2 } });
    const events: JobEvent[] = [];
    const straight = await runJob(twoThreads('threads-straight'), (e) => events.push(e));
    const start = events.find((e) => e.type === 'start');
    expect(start?.type === 'start' && start.backend.threads).toBe(2);
    const s = twoThreads('threads-aborted');
    const controller = new AbortController();
    const run = runJob(s, (e) => e.type === 'progress' && e.step >= 5 && controller.abort(), { signal: controller.signal });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const resumed = await runJob({ ...s, resume: true }, () => undefined);
    const weights = async (dir: string) => readFile(join(dir, 'model', 'model.safetensors'));
    expect(Buffer.compare(await weights(s.output_dir), await weights(straight.output_dir))).toBe(0);
    expect(resumed.epochs.map((r) => r.train_loss)).toEqual(straight.epochs.map((r) => r.train_loss));

    // The same abort, resumed on one thread: it finishes, warns, and the weights differ in rounding.
    const other = twoThreads('threads-other');
    const stop = new AbortController();
    await expect(runJob(other, (e) => e.type === 'progress' && e.step >= 5 && stop.abort(), { signal: stop.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const logs: string[] = [];
    await runJob({ ...other, resume: true, train: { ...other.train, threads: 1 } }, (e) => e.type === 'log' && logs.push(e.message));
    expect(logs).toContain('resuming on 1 thread; the checkpoint was trained on 2: the rest differs from an uninterrupted run by float rounding (set train.threads to 2 to continue exactly)');
  });

  it('resume passes over a damaged newest checkpoint with a warning, and fails clearly when none is intact', async () => {
    const s = spec('damaged-checkpoint');
    const controller = new AbortController();
    const run = runJob(s, (e) => e.type === 'progress' && e.step >= 8 && controller.abort(), { signal: controller.signal });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const ckptDir = join(s.output_dir, 'checkpoints');
    const [epochOne, aborted] = (await readdir(ckptDir)).sort();
    expect(epochOne).toBe('step-000000006');
    // the case: an emptied tensors.bin used to resume with every weight and mask 0 and finish as "done"
    await writeFile(join(ckptDir, aborted!, 'tensors.bin'), '');

    const events: JobEvent[] = [];
    const resumed = await runJob({ ...s, resume: true }, (e) => events.push(e));
    const warnings = events.filter((e) => e.type === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message);
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^checkpoint ${join(ckptDir, aborted!)} failed its check and was skipped: .*tensors.bin: 0 bytes, but manifest.json expects \\d+; the file is truncated`))]);
    expect(events.find((e) => e.type === 'start')).toMatchObject({ start_step: 6 });
    expect(resumed.sparsity.global).toBe(0);
    expect(resumed.epochs).toHaveLength(2);

    for (const name of await readdir(ckptDir)) await writeFile(join(ckptDir, name, 'tensors.bin'), '');
    const failed: JobEvent[] = [];
    await expect(runJob({ ...s, resume: true }, (e) => failed.push(e))).rejects.toThrow(new RegExp(`^no intact checkpoint in ${ckptDir}; each one failed its check:\n  step-`));
    expect(failed.find((e) => e.type === 'failed')).toMatchObject({ error: { code: 'CHECKPOINT_INVALID' } });
  });

  it('an abort while the data is read stops before the tokenizer is trained', async () => {
    const s = spec('abort-in-data', { data: { dir: join(root, 'data'), source: 'local', offline: true, cache_dir: join(root, 'cache-abort-in-data') } as never });
    const controller = new AbortController();
    const events: JobEvent[] = [];
    const run = runJob(
      s,
      (e) => {
        events.push(e);
        if (e.type === 'log' && e.source === 'data') controller.abort(); // the train split has been read
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const sources = events.filter((e) => e.type === 'log').map((e) => (e as { source?: string }).source);
    expect(sources.filter((x) => x === 'data')).toHaveLength(1); // the validation split was not read
    expect(sources).not.toContain('tokenizer');
    expect(events.some((e) => e.type === 'start')).toBe(false);
  });

  it('a finished dense job writes model/: config, weights, vocabulary and compaction.json, and logs the sizes', async () => {
    const s = spec('with-model', { train: { epochs: 1, batch_size: 16, seed: 9 } as never });
    const events: JobEvent[] = [];
    const result = await runJob(s, (e) => events.push(e));
    const dir = join(s.output_dir, 'model');
    expect(result.files.model).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual(['compaction.json', 'config.json', 'model.safetensors', 'vocab.txt']);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config).toEqual({
      format: 'gbp-model', format_version: 1, size: 'tiny', num_layers: 1, d_model: 32, num_heads: 4, dff: 64, vocab_size: 120, max_len: 16,
      type_vocab_size: 2, num_labels: 2, dropout_rate: 0.1, heads_per_layer: [4], dff_per_layer: [64], task: 'sst2', lowercase: true,
    });
    const vocab = (await readFile(join(dir, 'vocab.txt'), 'utf8')).trimEnd().split('\n');
    expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(vocab).toContain('great');
    const report = readCompactionReport(dir)!;
    expect(Object.keys(report).sort()).toEqual([
      'flops_per_token_after', 'flops_per_token_before', 'gated_params_after', 'gated_params_before', 'heads', 'heads_kept', 'logit_diff_examples', 'max_abs_logit_diff',
      'max_len', 'neurons', 'neurons_kept', 'params_after', 'params_before', 'structures_removed', 'unstructured_sparsity_left',
    ]);
    const metadata = JSON.parse(await readFile(result.files.metadata!, 'utf8'));
    expect(report).toMatchObject({ params_before: metadata.model_info.num_params, params_after: metadata.model_info.num_params, heads_kept: [4], heads: [4], neurons_kept: [64], neurons: [64], structures_removed: false, unstructured_sparsity_left: 0, logit_diff_examples: 40, max_len: 16 });
    expect(report.max_abs_logit_diff).toBeLessThan(1e-5);
    const line = events.find((e) => e.type === 'log' && e.message.startsWith('model: '));
    expect(line && line.type === 'log' && line.message).toMatch(new RegExp(`^model: params 0\\.\\d\\dM → 0\\.\\d\\dM, heads kept 4/4, neurons kept 64/64, max \\|logit diff\\| \\S+ on 40 examples → ${dir.replace(/[.\\/]/g, '\\$&')}$`));
    const model = await InferenceModel.fromFolder(dir);
    expect(model.numParams).toBe(report.params_after);
    model.dispose();
  });

  it('a job whose pruner removed whole heads and neurons writes the smaller model, with the masked model\'s logits', async () => {
    const structured = definePruner({
      name: 'given-structured',
      optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
      create: () => ({
        afterEpoch: (ctx) => {
          for (const g of ctx.gates) {
            const [, cols] = g.shape;
            // attention.output.dense: rows of heads 1 and 3 (head size 8); output.dense: neurons 0..39; elsewhere every third entry.
            const cut = (i: number) => {
              const row = Math.floor(i / cols);
              if (g.name.endsWith('attention.output.dense')) return Math.floor(row / 8) % 2 === 1;
              if (g.name.endsWith('.output.dense')) return row < 40;
              return i % 3 === 0;
            };
            g.setMask(Float32Array.from({ length: g.size }, (_, i) => (cut(i) ? 0 : 1)));
          }
        },
        state: () => null,
        restore: () => undefined,
      }),
    });
    const s = spec('structured', { method: 'given-structured', train: { epochs: 1, batch_size: 16, seed: 9 } as never, pruning: { end_sparsity: 0.35 } as never });
    const logs: string[] = [];
    const result = await runJob(s, (e) => e.type === 'log' && logs.push(e.message), { pruner: structured });
    const dir = result.files.model!;
    const report = readCompactionReport(dir)!;
    expect(report).toMatchObject({ heads_kept: [2], heads: [4], neurons_kept: [24], neurons: [64], structures_removed: true, logit_diff_examples: 40 });
    // Kept: q/k/v columns of 2 heads (3·32·16, a third masked), o rows (16·32, none masked), 24 intermediate columns (32·24, a third), 24 output rows (none).
    expect(report.gated_params_after).toBe(3 * 512 + 512 + 768 + 768);
    expect(report.params_before - report.params_after).toBe(3 * (32 * 16 + 16) + 16 * 32 + (32 * 40 + 40) + 40 * 32);
    expect(report.unstructured_sparsity_left).toBeCloseTo((3 * 171 + 256) / 3584, 2);
    const said = logs.find((m) => m.startsWith('model: ') && m.includes('masked zeros inside kept heads and neurons'));
    expect(said).toMatch(/^model: 21\.\d% of the kept gated weights are masked zeros inside kept heads and neurons; compaction cannot remove them/);
    expect(report.max_abs_logit_diff).toBeLessThan(1e-5);
    expect(report.flops_per_token_after).toBeLessThan(report.flops_per_token_before);

    // The folder loads on its own, with the per-layer widths in its config.
    const model = await InferenceModel.fromFolder(dir);
    expect(model.config).toMatchObject({ heads_per_layer: [2], dff_per_layer: [24] });
    model.dispose();
  });

  it('runs a pruner from a path, checks its sparsity target, and reports a failing hook with its name', async () => {
    const prunerFile = join(root, 'half-pruner.mjs');
    await writeFile(
      prunerFile,
      `export default {
        name: 'half',
        optionsSchema: { type: 'object', properties: { fail: { type: 'boolean', default: false } }, additionalProperties: false },
        create(options, ctx) {
          let calls = 0;
          return {
            afterStep(c, step) {
              calls++;
              c.rng.next();
              if (options.fail && step === 3) throw new Error('boom');
            },
            afterEpoch(c, epoch) {
              for (const g of c.gates) {
                const m = new Float32Array(g.size);
                for (let i = 0; i < g.size; i++) m[i] = i % 2;
                g.setMask(m);
              }
              c.log.info('pruned half at epoch ' + epoch);
            },
            teardown(c) { c.log.info('calls ' + calls + ' rng ' + c.rng.next()); },
            state() { return { calls, scores: new Float32Array([calls, 0.5]) }; },
            restore(s) {
              if (!(s.scores instanceof Float32Array) || s.scores[0] !== s.calls) throw new Error('bad state');
              calls = s.calls;
            },
          };
        },
      };\n`,
    );
    const events: JobEvent[] = [];
    const result = await runJob(spec('half', { method: prunerFile, pruning: { end_sparsity: 0.5 } as never }), (e) => events.push(e));
    expect(result.sparsity.global).toBe(0.5);
    expect(events.some((e) => e.type === 'log' && e.source === 'half' && e.message === 'pruned half at epoch 1')).toBe(true);

    // Abort + resume restores the pruner's state and RNG: teardown reports the same as a straight run.
    const teardownLog = (evs: JobEvent[]) => evs.find((e) => e.type === 'log' && e.message.startsWith('calls '));
    const straightLog = teardownLog(events);
    expect(straightLog && straightLog.type === 'log' && straightLog.message).toMatch(/^calls 12 rng 0\.\d+/);
    const controller = new AbortController();
    const interrupted = spec('half-resumed', { method: prunerFile, pruning: { end_sparsity: 0.5 } as never });
    await expect(
      runJob(interrupted, (e) => e.type === 'progress' && e.step >= 8 && controller.abort(), { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    const resumedEvents: JobEvent[] = [];
    await runJob({ ...interrupted, resume: true }, (e) => resumedEvents.push(e));
    expect(teardownLog(resumedEvents)).toMatchObject({ message: (straightLog as { message: string }).message });

    // A later stage starting from this job's weights and masks keeps its sparsity (baseline prunes nothing).
    const next = await runJob(spec('from-half', { init_checkpoint: join(root, 'out', 'half'), train: { epochs: 1, batch_size: 16, seed: 9 } as never }), () => undefined);
    expect(next.sparsity.global).toBe(0.5);

    await expect(runJob(spec('too-much', { method: prunerFile, pruning: { end_sparsity: 0.9 } as never }), () => undefined)).rejects.toThrow(/pruner half reached 50\.00%/);

    const failed: JobEvent[] = [];
    await expect(runJob(spec('fails', { method: prunerFile, method_options: { fail: true } }), (e) => failed.push(e))).rejects.toThrow(/pruner half, hook afterStep: boom/);
    const last = failed[failed.length - 1]!;
    expect(last).toMatchObject({ type: 'failed', error: { plugin: 'half', hook: 'afterStep', code: 'PLUGIN_ERROR' } });
    expect(await readdir(join(root, 'out', 'fails'))).not.toContain('model'); // a failed job leaves no model
    expect(await readdir(join(root, 'out', 'too-much'))).not.toContain('model');

    await expect(runJob(spec('bad-options', { method: prunerFile, method_options: { nope: 1 } }), () => undefined)).rejects.toThrow(/method_options\.nope/);
  });

  it('runs a pruner definition it is given (options.pruner) without a module, and refuses one of another name before any work', async () => {
    const half = definePruner({
      name: 'given-half',
      optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
      create: () => ({
        afterEpoch: (ctx) => ctx.gates.forEach((g) => g.setMask(Float32Array.from({ length: g.size }, (_, i) => i % 2))),
        state: () => null,
        restore: () => undefined,
      }),
    });
    const s = spec('given', { method: 'given-half', train: { epochs: 1, batch_size: 16, seed: 9 } as never, pruning: { end_sparsity: 0.5 } as never });
    const result = await runJob(s, () => undefined, { pruner: half });
    expect(result.sparsity.global).toBe(0.5);
    expect(JSON.parse(await readFile(result.files.metadata!, 'utf8'))).toMatchObject({ method: 'given-half', status: 'done' });

    const other = spec('given-other', { method: 'movement' });
    await expect(runJob(other, () => undefined, { pruner: half })).rejects.toThrow("method: is 'movement', but runJob was given the definition of pruner 'given-half'; set method: given-half");
    await expect(readdir(other.output_dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('trains a regression pair task (stsb): MSE loss, pearson/spearman metrics', async () => {
    const dir = join(root, 'data-stsb');
    const rng = new Rng(5);
    const line = (i: number) => {
      const a = Array.from({ length: 4 }, () => WORDS[rng.int(WORDS.length)]!);
      const overlap = rng.int(5);
      const b = [...a.slice(0, overlap), ...Array.from({ length: 4 - overlap }, () => WORDS[rng.int(WORDS.length)]!)];
      return JSON.stringify({ sentence1: a.join(' '), sentence2: b.join(' '), label: (5 * overlap) / 4, idx: i });
    };
    await mkdir(join(dir, 'stsb'), { recursive: true });
    await writeFile(join(dir, 'stsb', 'train.jsonl'), `${Array.from({ length: 64 }, (_, i) => line(i)).join('\n')}\n`);
    await writeFile(join(dir, 'stsb', 'validation.jsonl'), `${Array.from({ length: 32 }, (_, i) => line(i)).join('\n')}\n`);
    const result = await runJob(
      spec('stsb', { task: 'stsb', data: { dir, source: 'local', offline: true, cache_dir: join(root, 'cache') } as never }),
      () => undefined,
    );
    expect(Object.keys(result.final_metrics).sort()).toEqual(['pearson', 'spearman']);
    expect(result.epochs[1]!.eval_loss).toBeTypeOf('number');
    expect(Number.isFinite(result.epochs[1]!.train_loss)).toBe(true);
  });
});
