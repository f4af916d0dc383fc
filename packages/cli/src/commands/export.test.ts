import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importHfFolder, InferenceModel, initBackend, readModelFolder, Rng, writeModelFolder } from '@gbp/core';
import { createOrtSession, ortFeeds } from '../export/onnx/ort.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallConfig, writeJobFolder } from '../../test/fixtures/bench-folders.js';
import { captureIO } from '../../test/fixtures/capture-io.js';
import { main } from '../cli.js';
import { REFERENCE_MODEL_DIR } from '@gbp/core/testing';

const dir = mkdtempSync(join(tmpdir(), 'gbp-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = () => captureIO(dir);

const fixture = REFERENCE_MODEL_DIR;
const present = existsSync(join(fixture, 'config.json'));
if (!present) console.warn(`[gbp] skipping gbp export of bert-ref-micro: no fixture at ${fixture} (provide ../shared/models/bert-ref-micro)`);

/** A compacted job: layer 0 keeps 2 of 4 heads and 24 of 32 neurons, layer 1 no head and all 32 neurons. */
const compacted = smallConfig({ heads_per_layer: [2, 0], dff_per_layer: [24, 32] });
let job: string;
beforeAll(async () => {
  // gbp's logits are the reference: on the cpu backend, set before any model runs.
  await initBackend('cpu');
  job = await writeJobFolder(dir, 'pruned', 'movement', 0.5, { config: compacted });
});

const listing = (folder: string) => readdirSync(folder).sort();

describe('gbp export --format hf', () => {
  it('exports a job folder given relative to the cwd, saying what it padded, into a folder transformers reads', async () => {
    const t = io();
    expect(await main(['export', 'results_pruned', '--format', 'hf', '--output', 'hf-pruned'], t.value)).toBe(0);
    const out = join(dir, 'hf-pruned');
    // d 16, head size 4: layer 0 pads 8 neurons of 2*16+1 parameters, layer 1 gets one zero head of 4*16*4+3*4.
    expect(t.out()).toBe(
      `exported results_pruned to ${out}: a Hugging Face folder transformers loads as BertForSequenceClassification, float32, ${countParams(out).toLocaleString('en-US')} parameters (${8 * 33 + 268} of them padding)\n` +
        'files: config.json, model.safetensors\n' +
        'note: FFN widths 24,32 padded with zeros to 32 (BertConfig has one intermediate_size; exact): 264 extra parameters\n' +
        'note: layer 1 without attention heads exported with 1 head of zero weights each (exact; the SDPA attention of transformers cannot run a 0-head layer): 268 extra parameters\n' +
        'note: the model has no vocab.txt or tokenizer.json: the export has no tokenizer (add the one it was trained with)\n',
    );
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ intermediate_size: 32, num_attention_heads: 4, pruned_heads: { 0: [2, 3], 1: [1, 2, 3] }, torch_dtype: 'float32' });
    const back = await importHfFolder(out);
    expect(back.config.heads_per_layer).toEqual([2, 1]);
  });

  it.skipIf(!present)('exports the reference checkpoint as float16 with its vocab.txt and tokenizer_config.json', async () => {
    const t = io();
    const out = join(dir, 'hf-micro');
    expect(await main(['export', fixture, '--format', 'hf', '--output', out, '--dtype', 'float16'], t.value)).toBe(0);
    expect(t.out()).toContain(`, float16, 141,890 parameters\nfiles: config.json, model.safetensors, vocab.txt, tokenizer_config.json\n`);
    expect(t.out()).not.toContain('note:');
    expect(listing(out)).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ torch_dtype: 'float16' });
  });

  it('refuses a non-empty DIR (exit 2, nothing touched) unless --force, which replaces it whole', async () => {
    const out = join(dir, 'taken');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    const refused = io();
    expect(await main(['export', job, '--format', 'hf', '--output', out], refused.value)).toBe(2);
    expect(refused.err()).toBe(`gbp export: ${out}: folder is not empty (keep.txt); refusing to overwrite it; give --force to replace it whole\n`);
    expect(listing(out)).toEqual(['keep.txt']);

    const forced = io();
    expect(await main(['export', job, '--format', 'hf', '--output', out, '--force'], forced.value)).toBe(0);
    expect(listing(out)).toEqual(['config.json', 'model.safetensors']);
  });

  it.each([
    [['export', 'results_pruned', '--format', 'caffe', '--output', 'x'], "gbp export: unknown format 'caffe' (known: hf, onnx, tfjs)"],
    [['export', 'results_pruned', '--output', 'x'], 'gbp export: give --format (known: hf, onnx, tfjs)'],
    [['export', 'results_pruned', '--format', 'onnx', '--output', 'x', '--dtype', 'int8'], "gbp export: --dtype must be one of float32, float16 for format onnx, got 'int8'"],
    [['export', 'results_pruned', '--format', 'hf', '--output', 'x', '--dtype', 'int8'], "gbp export: --dtype must be one of float32, float16 for format hf, got 'int8'"],
    [['export', 'results_pruned', '--format', 'hf'], 'gbp export: give --output DIR, the folder to write'],
    [['export', '--format', 'hf', '--output', 'x'], 'gbp export: give one SOURCE (a job folder or a model folder), got none; see gbp export -h'],
    [['export', 'nowhere/', '--format', 'hf', '--output', 'x'], '/nowhere: no such folder (and not a Hugging Face Hub id'],
    [['export', 'results_pruned', '--format', 'hf', '--output', 'results_pruned/model', '--force'], `gbp export: ${join(dir, 'results_pruned/model')}: is (or holds) the model being exported`],
  ])('refuses %j before reading the model (exit 2): %s', async (argv, message) => {
    const t = io();
    expect(await main(argv, t.value)).toBe(2);
    expect(t.err()).toContain(message);
    expect(t.out()).toBe('');
    expect(existsSync(join(dir, 'x'))).toBe(false);
    expect(existsSync(join(job, 'model', 'config.json'))).toBe(true);
  });

  it('refuses a damaged model folder (exit 2) naming the file, and writes nothing', async () => {
    const broken = await writeJobFolder(dir, 'broken', 'movement', 0.5, { config: compacted });
    writeFileSync(join(broken, 'model', 'model.safetensors'), Uint8Array.from([1, 2, 3]));
    const t = io();
    expect(await main(['export', broken, '--format', 'hf', '--output', 'from-broken'], t.value)).toBe(2);
    expect(t.err()).toBe(`gbp export: ${join(broken, 'model', 'model.safetensors')}: not a valid safetensors file: 3 bytes, shorter than the 8-byte header length\n`);
    expect(existsSync(join(dir, 'from-broken'))).toBe(false);
  });

  it('refuses --dtype float16 for a weight beyond its range (exit 2), naming the tensor, and writes nothing', async () => {
    const big = await writeJobFolder(dir, 'big', 'movement', 0.5, { config: compacted });
    const config = JSON.parse(readFileSync(join(big, 'model', 'config.json'), 'utf8')) as Record<string, unknown>;
    const { weights } = await readModelFolder(join(big, 'model'));
    const bias = weights.get('pooler.dense.bias')!;
    const data = Float32Array.from(bias.data);
    data[3] = 1e6;
    await writeModelFolder(join(big, 'model'), { config: compacted, task: String(config.task), weights: new Map(weights).set('pooler.dense.bias', { shape: bias.shape, data }) });
    const t = io();
    expect(await main(['export', big, '--format', 'hf', '--output', 'from-big', '--dtype', 'float16'], t.value)).toBe(2);
    expect(t.err()).toBe("gbp export: safetensors: tensor 'bert.pooler.dense.bias' holds 1000000 at index 3, outside float16's range (largest 65504); store it as F32\n");
    expect(existsSync(join(dir, 'from-big'))).toBe(false);
  });

  it('lists the formats in its help', async () => {
    const t = io();
    expect(await main(['export', '-h'], t.value)).toBe(0);
    expect(t.out()).toContain('hf: a Hugging Face folder transformers loads as BertForSequenceClassification (--dtype float32|float16)');
  });
});

/** Parameters in an export's model.safetensors, from its header (shapes), read independently of the command. */
function countParams(out: string): number {
  const bytes = readFileSync(join(out, 'model.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape?: number[] }>;
  return Object.values(header).reduce((total, entry) => total + (entry.shape ?? []).reduce((a, b) => a * b, entry.shape ? 1 : 0), 0);
}

describe('gbp export --format onnx', () => {
  it('exports a compacted job (a 0-head layer) to model.onnx that onnxruntime-node runs to gbp\'s logits', async () => {
    const t = io();
    expect(await main(['export', 'results_pruned', '--format', 'onnx', '--output', 'onnx-pruned'], t.value)).toBe(0);
    const out = join(dir, 'onnx-pruned');
    expect(t.out()).toContain(`exported results_pruned to ${out}: model.onnx (opset 17; `);
    expect(t.out()).toContain('with config.json and the tokenizer, float32, ');
    expect(t.out()).toContain('files: model.onnx, config.json\nnote: the model has no vocab.txt or tokenizer.json');
    expect(listing(out)).toEqual(['config.json', 'model.onnx']);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ heads_per_layer: [2, 0], dff_per_layer: [24, 32] });
    const rng = new Rng(3);
    const [batch, seq] = [2, 5];
    const input = {
      inputIds: Int32Array.from({ length: batch * seq }, () => rng.int(compacted.vocab_size)),
      typeIds: new Int32Array(batch * seq),
      attentionMask: Float32Array.from({ length: batch * seq }, (_, i) => (i >= seq + 3 ? 0 : 1)),
      batchSize: batch,
      seqLen: seq,
    };
    const session = await createOrtSession(readFileSync(join(out, 'model.onnx')), 'model.onnx');
    const onnx = (await session.run(await ortFeeds(input))).logits!.data as Float32Array;
    await session.release();
    const model = await InferenceModel.fromFolder(join(job, 'model'));
    const logits = model.logits(input);
    const gbp = logits.dataSync();
    logits.dispose();
    model.dispose();
    expect(onnx.length).toBe(gbp.length);
    onnx.forEach((v, i) => expect(Math.abs(v - gbp[i]!)).toBeLessThan(1e-4));
  });
});
