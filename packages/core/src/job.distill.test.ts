/**
 * train.distill end to end: a job distils from a finished job's model (its teacher logits
 * computed once, logged), resumes exactly, and refuses a teacher of another label count or
 * vocabulary, or none at all, before training, naming the teacher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveJobSpec, runJob, type PartialJobSpec } from './job.js';
import type { JobEvent } from './events.js';
import { writeSyntheticSst2 } from './testing/conformance.js';
import { decodeSafetensors, encodeSafetensors, freshClassifierWeights, loadModel, readModelFolder, withOverrides, writeModelFolder } from './model/index.js';
import { REFERENCE_MODEL_DIR } from './testing/reference-model.js';

const hfFixture = REFERENCE_MODEL_DIR;
const hfPresent = existsSync(join(hfFixture, 'model.safetensors'));
if (!hfPresent) console.warn(`[gbp] skipping distillation from a Hugging Face folder: no fixture at ${hfFixture} (provide ../shared/models/bert-ref-micro)`);

let root: string;
let dataDir: string;
/** A finished dense job: the teacher. */
let teacherJob: string;

const spec = (name: string, extra: Partial<PartialJobSpec> = {}) =>
  resolveJobSpec({
    id: name,
    task: 'sst2',
    backend: 'wasm',
    model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 4, dff: 64, vocab_size: 120, max_len: 16 },
    train: { epochs: 2, batch_size: 16, learning_rate: 2e-3, seed: 9 },
    data: { dir: dataDir, source: 'local', offline: true, cache_dir: join(root, 'cache') },
    output_dir: join(root, 'out', name),
    ...extra,
  } as PartialJobSpec);

const distilled = (name: string, teacher: string, extra: Record<string, unknown> = {}) =>
  spec(name, { train: { epochs: 2, batch_size: 16, learning_rate: 2e-3, seed: 9, distill: { teacher, alpha: 0.8, temperature: 2 }, ...extra } } as never);

const weightsOf = async (jobDir: string) => (await readModelFolder(join(jobDir, 'model'))).weights;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gbp-distill-'));
  dataDir = await writeSyntheticSst2(join(root, 'data'));
  const dense = spec('teacher', { train: { epochs: 2, batch_size: 16, learning_rate: 3e-3, seed: 1 } } as never);
  await runJob(dense, () => undefined);
  teacherJob = dense.output_dir;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('train.distill in the job spec', () => {
  it('fills alpha 0.9 and temperature 2 by default and refuses alpha 0, alpha > 1 and temperature 0, naming the field', () => {
    const s = resolveJobSpec({ task: 'sst2', output_dir: '/x', train: { distill: { teacher: '/t' } } } as never);
    expect(s.train.distill).toEqual({ teacher: '/t', alpha: 0.9, temperature: 2 });
    const refused = (distill: unknown) => {
      try {
        resolveJobSpec({ task: 'sst2', output_dir: '/x', train: { distill } } as never);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused({ teacher: '/t', alpha: 0 })).toMatch(/train\.distill\.alpha: .*> 0/);
    expect(refused({ teacher: '/t', alpha: 1.5 })).toMatch(/train\.distill\.alpha: .*<= 1/);
    expect(refused({ teacher: '/t', temperature: 0 })).toMatch(/train\.distill\.temperature: .*> 0/);
    expect(refused({ alpha: 0.5 })).toMatch(/train\.distill.*teacher/);
  });
});

describe('runJob with train.distill', () => {
  it('distils from a job folder: teacher logits computed once and logged, training differs from the plain job', async () => {
    const events: JobEvent[] = [];
    const result = await runJob(distilled('student', teacherJob), (e) => events.push(e));
    expect(result.epochs).toHaveLength(2);
    // Progress lines ('teacher logits: n/96 examples') appear only on a machine slow enough to take 2 s: not counted.
    const logs = events.flatMap((e) => (e.type === 'log' && e.source === 'teacher' && !/^teacher logits: \d+\//.test(e.message) ? [e.message] : []));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(new RegExp(`^teacher logits of 96 training examples computed in [0-9.]+ s \\(6 batches of up to 16\\) from ${join(teacherJob, 'model')}$`));
    const plain = await runJob(spec('plain'), () => undefined);
    // Same seed, data and model: only the objective differs.
    expect(result.epochs[0]!.train_loss).not.toBe(plain.epochs[0]!.train_loss);
  });

  it('a distilled job aborted mid-epoch and resumed ends with the weights of one run straight through', async () => {
    await runJob(distilled('straight', teacherJob), () => undefined);
    const s = distilled('aborted', teacherJob);
    const controller = new AbortController();
    const run = runJob(s, (e) => e.type === 'progress' && e.step >= 9 && controller.abort(), { signal: controller.signal });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(existsSync(join(s.output_dir, 'model'))).toBe(false);
    const ckpts = await readdir(join(s.output_dir, 'checkpoints'));
    expect(ckpts[ckpts.length - 1]).toMatch(/^step-0000000(09|1\d)$/); // mid-epoch 2 (6 steps an epoch)
    await runJob({ ...s, resume: true }, () => undefined);
    const expected = await weightsOf(join(root, 'out', 'straight'));
    const actual = await weightsOf(s.output_dir);
    for (const [name, tensor] of expected) expect(actual.get(name)!.data, name).toEqual(tensor.data);
  });

  it('refuses a teacher of another label count before training, naming it', async () => {
    const three = join(root, 'three-labels');
    const contents = await readModelFolder(join(teacherJob, 'model'));
    const config = { ...contents.config, num_labels: 3 };
    const weights = new Map(contents.weights);
    for (const [name, tensor] of freshClassifierWeights(config, 0)) weights.set(name, tensor);
    await writeModelFolder(three, { ...contents, config, task: 'mnli', weights });
    const s = distilled('three', three);
    await expect(runJob(s, () => undefined)).rejects.toThrow(`train.distill.teacher ${three}: has 3 labels (task mnli), but the task has 2`);
    expect(existsSync(join(s.output_dir, 'checkpoints'))).toBe(false);
  });

  it('refuses a teacher with fewer positions than the training examples have tokens, saying what to lower', async () => {
    const short = join(root, 'short');
    const loaded = await loadModel(teacherJob);
    const { config, weights } = withOverrides(loaded, { max_len: 6 });
    await writeModelFolder(short, { config, weights, task: 'sst2', vocab: await readFile(join(teacherJob, 'model', 'vocab.txt'), 'utf8') });
    await expect(runJob(distilled('short', short), () => undefined)).rejects.toThrow(
      new RegExp(`^train\\.distill\\.teacher ${short}: takes at most 6 tokens, but training examples have up to \\d+ \\(lower model\\.max_len to 6\\)$`),
    );
  });

  it('refuses a teacher of another vocabulary before training, naming it and the first id that differs', async () => {
    const other = join(root, 'other-vocab');
    await cp(join(teacherJob, 'model'), other, { recursive: true });
    const tokens = (await readFile(join(other, 'vocab.txt'), 'utf8')).trimEnd().split('\n');
    [tokens[40], tokens[41]] = [tokens[41]!, tokens[40]!];
    await writeFile(join(other, 'vocab.txt'), `${tokens.join('\n')}\n`);
    const s = distilled('other', other);
    await expect(runJob(s, () => undefined)).rejects.toThrow(
      `train.distill.teacher ${other}: its vocabulary (${join(other, 'vocab.txt')}, ${tokens.length} tokens) is not the job's (${tokens.length} tokens): id 40 is '${tokens[40]}' there and '${tokens[41]}' here`,
    );
    expect(existsSync(join(s.output_dir, 'checkpoints'))).toBe(false);
  });

  it('refuses a teacher folder that does not exist, or a job that has not finished, naming it', async () => {
    const missing = join(root, 'nowhere');
    await expect(runJob(distilled('missing', missing), () => undefined)).rejects.toThrow(`train.distill.teacher ${missing}: ${missing}: no such folder`);
    const unfinished = join(root, 'out', 'aborted-copy');
    await cp(join(root, 'out', 'aborted', 'checkpoints'), join(unfinished, 'checkpoints'), { recursive: true });
    await expect(runJob(distilled('unfinished', unfinished), () => undefined)).rejects.toThrow(`train.distill.teacher ${unfinished}: ${unfinished}: a job folder without model/`);
  });

  it.skipIf(!hfPresent)('distils from a Hugging Face folder into a smaller student of its vocabulary, and refuses one without a classifier', async () => {
    const student = (name: string, teacher: string) =>
      spec(name, {
        model: { size: 'tiny', num_layers: 1, d_model: 32, num_heads: 4, dff: 64, vocab_size: 1036, max_len: 16 },
        tokenizer: { path: join(hfFixture, 'vocab.txt'), lowercase: true },
        train: { epochs: 1, batch_size: 16, learning_rate: 2e-3, seed: 9, distill: { teacher, alpha: 0.5, temperature: 2 } },
      } as never);
    const events: JobEvent[] = [];
    const result = await runJob(student('from-hf', hfFixture), (e) => events.push(e));
    expect(result.epochs).toHaveLength(1);
    expect(events.some((e) => e.type === 'log' && e.source === 'teacher' && e.message.endsWith(`from ${hfFixture}`))).toBe(true);
    // The same checkpoint without its classifier (as a pre-training checkpoint is).
    const headless = join(root, 'headless');
    await mkdir(headless);
    for (const file of ['config.json', 'vocab.txt']) await cp(join(hfFixture, file), join(headless, file));
    const { tensors } = decodeSafetensors(await readFile(join(hfFixture, 'model.safetensors')), 'model.safetensors');
    await writeFile(join(headless, 'model.safetensors'), encodeSafetensors(new Map([...tensors].filter(([name]) => !name.startsWith('classifier.')))));
    await expect(runJob(student('from-headless', headless), () => undefined)).rejects.toThrow(
      `train.distill.teacher ${headless}: ${headless} has no trained classifier; a teacher must be fine-tuned on the task`,
    );
  });
});
