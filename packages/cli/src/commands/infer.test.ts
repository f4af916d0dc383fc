/**
 * `gbp infer` on ../shared/models/bert-ref-micro (a Hugging Face BERT with the outputs of an
 * independent PyTorch implementation): as a Hugging Face folder, as a gbp model folder and as a
 * job folder. Skipped with a message when the fixture is absent.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type PassThrough } from 'node:stream';
import { loadModel, tokenizerFromFile, writeModelFolder } from '@gbp/core';
import { decodeSafetensors, encodeSafetensors } from '@gbp/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIO } from '../../test/fixtures/capture-io.js';
import { main } from '../cli.js';
import { readReferenceOutputs, REFERENCE_MODEL_DIR, type ReferenceCase, type ReferenceOutputs } from '@gbp/core/testing';

const fixture = REFERENCE_MODEL_DIR;
const present = existsSync(join(fixture, 'reference.json'));
if (!present) console.warn(`[gbp] skipping the gbp infer tests: no fixture at ${fixture} (provide ../shared/models/bert-ref-micro)`);


const TOLERANCE = 1e-4;
const dir = mkdtempSync(join(tmpdir(), 'gbp-infer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const reference = (present ? readReferenceOutputs(fixture) : undefined) as ReferenceOutputs;

/** The fixture as a gbp model folder (task sst2) and inside a job folder (job/model/). */
const gbpFolder = join(dir, 'gbp-model');
const jobFolder = join(dir, 'job');
beforeAll(async () => {
  if (!present) return;
  const loaded = await loadModel(fixture);
  const contents = { config: loaded.config, task: 'sst2', weights: loaded.weights, vocab: readFileSync(join(fixture, 'vocab.txt'), 'utf8'), lowercase: true };
  await writeModelFolder(gbpFolder, contents);
  await writeModelFolder(join(jobFolder, 'model'), contents);
  writeFileSync(join(jobFolder, 'events.ndjson'), '');
});

async function infer(args: string[]) {
  const io = captureIO(dir);
  const code = await main(['infer', '--backend', 'cpu', ...args], io.value);
  return { code, out: io.out(), err: io.err() };
}
const jsonl = (text: string) => text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
const write = (name: string, rows: readonly (string | object)[]) => {
  writeFileSync(join(dir, name), rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return name;
};
const unpadded = (c: ReferenceCase, row: number) => c.input_ids[row]!.filter((_, t) => c.attention_mask[row]![t] === 1);

function expectClose(actual: unknown, expected: readonly number[]) {
  expect(Array.isArray(actual)).toBe(true);
  const values = actual as number[];
  expect(values).toHaveLength(expected.length);
  const worst = Math.max(...values.map((v, i) => Math.abs(v - expected[i]!)));
  expect(worst).toBeLessThan(TOLERANCE);
}

describe.skipIf(!present)('gbp infer on the reference checkpoint', () => {
  it("tokenises the reference texts to the reference ids with the model's own vocab.txt", async () => {
    const tokenizer = await tokenizerFromFile(join(fixture, 'vocab.txt'), true);
    reference.texts.single.forEach((text, i) => expect([...tokenizer.encode([text], 64).ids]).toEqual(unpadded(reference.cases.single, i)));
    reference.texts.pair.forEach((pair, i) => expect([...tokenizer.encode(pair, 64).ids]).toEqual(unpadded(reference.cases.pair, i)));
  });

  it('--text and --pair on the Hugging Face folder give the reference logits', async () => {
    for (const [i, [a, b]] of reference.texts.pair.entries()) {
      const result = await infer(['--model', fixture, '--text', a, '--pair', b]);
      expect(result.code, result.err).toBe(0);
      const [row] = jsonl(result.out);
      expect(row).toMatchObject({ text: a, text_pair: b });
      expectClose(row!.logits, reference.cases.pair.logits[i]!);
      expect(row!.label).toBe(argmax(reference.cases.pair.logits[i]!));
    }
    const single = await infer(['--model', fixture, '--text', reference.texts.single[0]!]);
    expectClose(jsonl(single.out)[0]!.logits, reference.cases.single.logits[0]!);
  });

  it('--input rows of a gbp model folder come back in input order with the reference logits, and --pooled adds pooler_output', async () => {
    const file = write('single.jsonl', reference.texts.single.map((sentence, idx) => ({ idx, sentence })));
    const result = await infer(['--model', 'gbp-model', '--input', file, '--pooled', '--batch', '3']);
    expect(result.code, result.err).toBe(0);
    const rows = jsonl(result.out);
    expect(rows.map((r) => r.idx)).toEqual([0, 1, 2, 3]);
    rows.forEach((row, i) => {
      expectClose(row.logits, reference.cases.single.logits[i]!);
      expectClose(row.pooler_output, reference.cases.single.pooler_output[i]!);
    });
    const without = await infer(['--model', 'gbp-model', '--input', file]);
    expect(jsonl(without.out).every((row) => !('pooler_output' in row))).toBe(true);
    expect(result.err).toMatch(/gbp infer: 4\/4 rows, [\d.]+ rows\/s/);
  });

  it('--threads 2 splits each batch between two threads: the rows one thread gives, within float rounding', async () => {
    const file = write('threads.jsonl', reference.texts.single.map((sentence, idx) => ({ idx, sentence })));
    const one = await infer(['--model', 'gbp-model', '--input', file, '--pooled', '--threads', '1']);
    const two = await infer(['--model', 'gbp-model', '--input', file, '--pooled', '--threads', '2']);
    expect(two.code, two.err).toBe(0);
    expect(one.err).toContain(', cpu, 1 thread (--threads)');
    expect(two.err).toContain(', cpu, 2 threads (--threads');
    const [a, b] = [jsonl(one.out), jsonl(two.out)];
    expect(b.map((r) => r.idx)).toEqual([0, 1, 2, 3]);
    b.forEach((row, i) => {
      expectClose(row.logits, a[i]!.logits as number[]);
      expectClose(row.pooler_output, a[i]!.pooler_output as number[]);
    });
  });

  it('--runtime onnx runs the model on onnxruntime-node: the reference logits and pooled output, on the threads asked for', async () => {
    const file = write('onnx.jsonl', reference.texts.single.map((sentence, idx) => ({ idx, sentence })));
    const result = await infer(['--model', 'gbp-model', '--input', file, '--pooled', '--runtime', 'onnx', '--threads', '2']);
    expect(result.code, result.err).toBe(0);
    expect(result.err).toContain(', onnxruntime-node, 2 threads intra-op (--threads');
    jsonl(result.out).forEach((row, i) => {
      expect(row.idx).toBe(i);
      expectClose(row.logits, reference.cases.single.logits[i]!);
      expectClose(row.pooler_output, reference.cases.single.pooler_output[i]!);
    });
  });

  it("scores labelled rows with the model folder's task (sst2: accuracy) on stderr, stdout staying JSONL", async () => {
    // Every reference logit row has its maximum at class 0: labels 0, 0, 0, 1 are 3 of 4 right.
    expect(reference.cases.single.logits.map(argmax)).toEqual([0, 0, 0, 0]);
    const file = write('labelled.jsonl', reference.texts.single.map((sentence, i) => ({ sentence, label: i === 3 ? 1 : 0 })));
    const result = await infer(['--model', 'gbp-model', '--input', file]);
    expect(result.code, result.err).toBe(0);
    expect(result.err).toContain('gbp infer: metrics (sst2, 4 labelled rows): accuracy 0.7500\n');
    const rows = jsonl(result.out);
    expect(rows.map((r) => [r.input_label, r.label])).toEqual([[0, 0], [0, 0], [0, 0], [1, 0]]);
  });

  it('scores pairs in GLUE fields with --task mrpc (accuracy and F1), printed to stdout with --output', async () => {
    // Both pairs are predicted class 0; gold 0 and 1: accuracy 1/2, no true positive so F1 0.
    expect(reference.cases.pair.logits.map(argmax)).toEqual([0, 0]);
    const file = write('pairs.jsonl', reference.texts.pair.map(([sentence1, sentence2], i) => ({ sentence1, sentence2, label: i })));
    const result = await infer(['--model', fixture, '--input', file, '--task', 'mrpc', '--output', 'pairs.out.jsonl']);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toBe(`output: ${join(dir, 'pairs.out.jsonl')} (2 rows)\nmetrics (mrpc, 2 labelled rows): accuracy 0.5000, f1 0.0000\n`);
    const rows = jsonl(readFileSync(join(dir, 'pairs.out.jsonl'), 'utf8'));
    rows.forEach((row, i) => expectClose(row.logits, reference.cases.pair.logits[i]!));
  });

  it('reports each bad line with its number on stderr, writes the other rows and exits 1', async () => {
    const [a, b, c] = reference.texts.single;
    const file = write('bad.jsonl', [{ sentence: a }, '{"sentence": ', { sentence: b }, { words: 'none' }, { sentence: 7 }, { sentence: c, label: 5 }, { sentence: c }]);
    const result = await infer(['--model', 'gbp-model', '--input', file]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^gbp infer: bad\.jsonl:2: not valid JSON \(/m);
    expect(result.err).toContain('gbp infer: bad.jsonl:4: no text field; expected text (with optional text_pair), sentence1+sentence2');
    expect(result.err).toContain(`gbp infer: bad.jsonl:5: field 'sentence': expected a string, got 7\n`);
    expect(result.err).toContain(`gbp infer: bad.jsonl:6: field 'label': expected a class id, an integer in 0..1 (or -1 for none), got 5\n`);
    expect(result.err).toContain('gbp infer: 4 bad rows (lines 2, 4, 5, 6) left out; the other 3 rows were written\n');
    const rows = jsonl(result.out);
    expect(rows.map((r) => r.sentence)).toEqual([a, b, c]);
    expectClose(rows[2]!.logits, reference.cases.single.logits[2]!);
  });

  it('names at most ten bad lines in its summary', async () => {
    const file = write('many-bad.jsonl', [...Array.from({ length: 12 }, () => 'x'), { sentence: 'fine' }]);
    const result = await infer(['--model', 'gbp-model', '--input', file]);
    expect(result.code).toBe(1);
    expect(result.err.match(/many-bad\.jsonl:\d+: not valid JSON/g)).toHaveLength(12);
    expect(result.err).toContain('gbp infer: 12 bad rows (lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more) left out; the other row was written\n');
  });

  it('reads a file with a byte order mark and CRLF line ends, and refuses bytes that are not UTF-8 naming the line', async () => {
    const [a, b] = reference.texts.single;
    writeFileSync(join(dir, 'windows.jsonl'), `\ufeff${JSON.stringify({ sentence: a })}\r\n${JSON.stringify({ sentence: b })}\r\n`);
    const windows = await infer(['--model', 'gbp-model', '--input', 'windows.jsonl']);
    expect(windows.code, windows.err).toBe(0);
    expect(jsonl(windows.out).map((r) => r.sentence)).toEqual([a, b]);

    writeFileSync(join(dir, 'latin1.jsonl'), Buffer.concat([Buffer.from(`${JSON.stringify({ sentence: a })}\n{"sentence": "caf`), Buffer.from([0xe9]), Buffer.from('"}\n')]));
    const latin1 = await infer(['--model', 'gbp-model', '--input', 'latin1.jsonl']);
    expect(latin1.code).toBe(2);
    expect(latin1.err).toMatch(new RegExp(`^gbp infer: ${join(dir, 'latin1.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: .*UTF-8`));
    expect(latin1.out).toBe('');
  });

  it('reads rows from stdin with --input -, scoring only the labelled ones', async () => {
    const io = captureIO(dir);
    const [a, b] = reference.texts.single;
    (io.value.stdin as PassThrough).end(`${JSON.stringify({ text: a, label: 0 })}\n${JSON.stringify({ text: b })}\n{}\n`);
    const code = await main(['infer', '--backend', 'cpu', '--model', 'gbp-model', '--input', '-'], io.value);
    expect(code).toBe(1);
    expect(io.err()).toContain('gbp infer: stdin:3: no text field; expected');
    expect(io.err()).toContain('gbp infer: metrics (sst2, 1 of 2 rows labelled): accuracy 1.0000\n');
    expect(jsonl(io.out()).map((r) => r.text)).toEqual([a, b]);
  });

  it('refuses an input without a row it can read, leaving --output as it was', async () => {
    writeFileSync(join(dir, 'kept.jsonl'), 'kept\n');
    const empty = await infer(['--model', 'gbp-model', '--input', write('empty.jsonl', ['']), '--output', 'kept.jsonl']);
    expect(empty.code).toBe(2);
    expect(empty.err).toBe('gbp infer: empty.jsonl has no rows; nothing written\n');
    const allBad = await infer(['--model', 'gbp-model', '--input', write('all-bad.jsonl', ['{"sentence": 1}', 'x']), '--output', 'kept.jsonl']);
    expect(allBad.code).toBe(2);
    expect(allBad.err).toContain("gbp infer: all-bad.jsonl:1: field 'sentence': expected a string, got 1\n");
    expect(allBad.err).toContain('gbp infer: all-bad.jsonl has no rows that could be read (2 bad); nothing written\n');
    expect(readFileSync(join(dir, 'kept.jsonl'), 'utf8')).toBe('kept\n');
  });

  it('gives the score as the label of a one-output model and scores it with Pearson and Spearman', async () => {
    // The encoder of the reference with a fresh one-output head, saved as an stsb model.
    const loaded = await loadModel(fixture, { numLabels: 1 });
    await writeModelFolder(join(dir, 'scorer'), { config: loaded.config, task: 'stsb', weights: loaded.weights, vocab: readFileSync(join(fixture, 'vocab.txt'), 'utf8') });
    const first = await infer(['--model', 'scorer', '--input', write('scores.jsonl', reference.texts.pair.map(([sentence1, sentence2]) => ({ sentence1, sentence2 })))]);
    expect(first.code, first.err).toBe(0);
    const scores = jsonl(first.out).map((row) => {
      expect(row.logits).toHaveLength(1);
      expect(row.label).toBe((row.logits as number[])[0]);
      return row.label as number;
    });
    // Two points always correlate perfectly: gold scores in the order of the predictions give 1, reversed -1.
    const gold = scores[0]! < scores[1]! ? [1, 4] : [4, 1];
    const labelled = write('scores-labelled.jsonl', reference.texts.pair.map(([sentence1, sentence2], i) => ({ sentence1, sentence2, label: gold[i] })));
    expect((await infer(['--model', 'scorer', '--input', labelled])).err).toContain('gbp infer: metrics (stsb, 2 labelled rows): pearson 1.0000, spearman 1.0000\n');
    const reversed = write('scores-reversed.jsonl', reference.texts.pair.map(([sentence1, sentence2], i) => ({ sentence1, sentence2, label: gold[1 - i] })));
    expect((await infer(['--model', 'scorer', '--input', reversed])).err).toContain('gbp infer: metrics (stsb, 2 labelled rows): pearson -1.0000, spearman -1.0000\n');
  });

  it('warns that a checkpoint without a classifier has meaningless logits', async () => {
    const headless = join(dir, 'headless');
    cpSync(fixture, headless, { recursive: true, filter: (path) => !path.includes('pretraining') });
    const { tensors } = decodeSafetensors(readFileSync(join(fixture, 'model.safetensors')), 'model.safetensors');
    writeFileSync(join(headless, 'model.safetensors'), encodeSafetensors(new Map([...tensors].filter(([name]) => !name.startsWith('classifier.')))));
    const result = await infer(['--model', 'headless', '--text', 'a film', '--pooled']);
    expect(result.code, result.err).toBe(0);
    expect(result.err).toContain('gbp infer: headless has no trained classifier (a fresh one was made): its logits and labels mean nothing until it is fine-tuned\n');
    expect(jsonl(result.out)[0]!.pooler_output).toHaveLength(64);
  });

  it('takes a job folder as the model (its model/)', async () => {
    const result = await infer(['--model', 'job', '--text', reference.texts.single[1]!]);
    expect(result.code, result.err).toBe(0);
    expect(result.err).toContain('job (job, 2 outputs, max_len 64)');
    expectClose(jsonl(result.out)[0]!.logits, reference.cases.single.logits[1]!);
  });

  it("cuts texts at the model's max_len (64 tokens)", async () => {
    // Both texts are far longer than 64 tokens and share their first 62 word pieces: the same input once cut.
    const long = Array.from({ length: 12 }, () => reference.texts.single[1]).join(' ');
    const file = write('long.jsonl', [{ text: long }, { text: `${long} ${long}` }]);
    const result = await infer(['--model', 'gbp-model', '--input', file]);
    expect(result.code, result.err).toBe(0);
    const [first, second] = jsonl(result.out);
    expect(first!.logits).toEqual(second!.logits);
  });

  it('--output appears whole: a stopped run leaves the previous file and no temporary file', async () => {
    const folder = join(dir, 'stopped');
    rmSync(folder, { recursive: true, force: true });
    cpSync(join(dir, 'single.jsonl'), join(folder, 'in.jsonl'), { recursive: true });
    writeFileSync(join(folder, 'out.jsonl'), 'previous results\n');
    const io = captureIO(folder);
    // SIGINT as soon as the command listens for it: before its first batch ends.
    io.value.onSignals = (handler) => (setImmediate(() => handler('SIGINT')), () => undefined);
    const code = await main(['infer', '--backend', 'cpu', '--model', gbpFolder, '--input', 'in.jsonl', '--batch', '1', '--output', 'out.jsonl'], io.value);
    expect(code).toBe(130);
    expect(io.err()).toContain('gbp infer: stopped; out.jsonl not written');
    expect(readFileSync(join(folder, 'out.jsonl'), 'utf8')).toBe('previous results\n');
    expect(readdirSync(folder).sort()).toEqual(['in.jsonl', 'out.jsonl']);

    const done = await main(['infer', '--backend', 'cpu', '--model', gbpFolder, '--input', 'in.jsonl', '--output', 'out.jsonl'], captureIO(folder).value);
    expect(done).toBe(0);
    expect(jsonl(readFileSync(join(folder, 'out.jsonl'), 'utf8'))).toHaveLength(4);
    expect(readdirSync(folder).sort()).toEqual(['in.jsonl', 'out.jsonl']);
  });

  it('refuses, before any work, a model without a tokenizer, naming the folder', async () => {
    const bare = join(dir, 'no-vocab');
    cpSync(fixture, bare, { recursive: true, filter: (path) => !path.endsWith('vocab.txt') && !path.includes('pretraining') });
    const result = await infer(['--model', 'no-vocab', '--text', 'hello']);
    expect(result.code).toBe(2);
    expect(result.err).toBe(`gbp infer: ${bare} has no tokenizer (vocab.txt or tokenizer.json); gbp infer needs the one the model was trained with\n`);
    expect(result.out).toBe('');
  });

  it("refuses a --task whose label count is not the model's", async () => {
    const result = await infer(['--model', 'gbp-model', '--text', 'hello', '--task', 'mnli']);
    expect(result.code).toBe(2);
    expect(result.err).toBe('gbp infer: --task mnli has 3 labels but gbp-model has 2 outputs\n');
  });
});

describe('gbp infer arguments', () => {
  it.each([
    [['--text', 'a'], 'gbp infer: give the model with --model M (a model folder, a job results folder, a Hugging Face folder or a Hub id); see gbp infer -h'],
    [['--model', 'm'], 'gbp infer: give either --input FILE.jsonl or --text TEXT'],
    [['--model', 'm', '--text', 'a', '--input', 'f'], 'gbp infer: give only one of --input FILE.jsonl or --text TEXT'],
    [['--model', 'm', '--pair', 'b', '--input', 'f'], 'gbp infer: --pair is the second segment of --text; give --text too'],
    [['--model', 'm', '--input', 'missing.jsonl'], 'gbp infer: --input missing.jsonl: no such file (expected a JSONL file, one JSON object a line)'],
    [['--model', './nowhere', '--text', 'a'], `gbp infer: --model ./nowhere: ${join(dir, 'nowhere')}: no such folder (and not a Hugging Face Hub id such as org/name or org/name@revision)`],
  ])('%j exits 2: %s', async (args, message) => {
    const io = captureIO(dir);
    expect(await main(['infer', ...args], io.value)).toBe(2);
    expect(io.err()).toBe(`${message}\n`);
  });

  it('writes rows to a stdout that waits for its reader', async () => {
    // A stream with a one-byte buffer: every write waits for 'drain'.
    const chunks: string[] = [];
    const slow = new Writable({ highWaterMark: 1, write: (chunk, _enc, done) => (chunks.push(String(chunk)), setImmediate(done)) });
    const io = captureIO(dir);
    io.value.stdout = slow;
    if (!present) return;
    expect(await main(['infer', '--backend', 'cpu', '--model', gbpFolder, '--text', 'hello'], io.value)).toBe(0);
    expect(jsonl(chunks.join(''))).toHaveLength(1);
  });
});

function argmax(values: readonly number[]): number {
  return values.indexOf(Math.max(...values));
}
