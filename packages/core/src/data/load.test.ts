import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DataSpec } from '../spec.js';
import { loadSplit } from './load.js';

let root: string;
const local = (dir: string): DataSpec => ({ dir, source: 'local', offline: true });

async function put(path: string, content: string | ArrayBuffer) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, typeof content === 'string' ? content : new Uint8Array(content));
}

/** A parquet file shaped like the Hub's glue export (label is int64 as datasets writes ClassLabel). */
function glueParquet(texts: Record<string, string[]>, labels: number[], labelType: 'INT64' | 'FLOAT' = 'INT64') {
  return parquetWriteBuffer({
    columnData: [
      ...Object.entries(texts).map(([name, data]) => ({ name, data, type: 'STRING' as const })),
      labelType === 'INT64'
        ? { name: 'label', data: labels.map((l) => BigInt(l)), type: 'INT64' as const }
        : { name: 'label', data: Float32Array.from(labels), type: 'FLOAT' as const },
      { name: 'idx', data: Int32Array.from(labels.map((_, i) => i)), type: 'INT32' as const },
    ],
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gbp-data-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  vi.stubEnv('GBP_DATA_DIR', '');
  vi.stubEnv('HF_HUB_OFFLINE', '');
  return () => vi.unstubAllEnvs();
});

describe('JSONL (Hub field names)', () => {
  it('reads examples, with limit', async () => {
    const dir = join(root, 'jsonl');
    await put(
      join(dir, 'sst2', 'train.jsonl'),
      ['{"sentence":"good film","label":1,"idx":0}', '{"sentence":"bad","label":0,"idx":1}', '', '{"sentence":"ok","label":1,"idx":7}'].join('\n'),
    );
    await put(join(dir, 'qnli', 'validation.jsonl'), '{"question":"q?","sentence":"s.","label":1,"idx":3}\r\n');
    await put(join(dir, 'stsb', 'train.jsonl'), '{"sentence1":"a","sentence2":"b","label":3.8,"idx":0}\n');
    expect(await loadSplit('sst2', 'train', local(dir))).toEqual([
      { texts: ['good film'], label: 1, idx: 0 },
      { texts: ['bad'], label: 0, idx: 1 },
      { texts: ['ok'], label: 1, idx: 7 },
    ]);
    expect(await loadSplit('sst2', 'train', local(dir), { limit: 2 })).toHaveLength(2);
    expect(await loadSplit('qnli', 'validation', local(dir))).toEqual([{ texts: ['q?', 's.'], label: 1, idx: 3 }]);
    expect((await loadSplit('stsb', 'train', local(dir)))[0]!.label).toBeCloseTo(3.8);
  });

  it('stops reading at the limit (a bad row after it is never parsed)', async () => {
    const dir = join(root, 'jsonl-limit');
    await put(join(dir, 'cola', 'train.jsonl'), '{"sentence":"a","label":1}\n{"sentence":"b","label":0}\nnot json\n');
    expect(await loadSplit('cola', 'train', local(dir), { limit: 2 })).toEqual([
      { texts: ['a'], label: 1, idx: 0 },
      { texts: ['b'], label: 0, idx: 1 },
    ]);
  });

  it('names file, line, field and what was expected', async () => {
    const dir = join(root, 'jsonl-bad');
    const file = join(dir, 'sst2', 'train.jsonl');
    await put(file, '{"sentence":"a","label":1,"idx":0}\n{"sentence":"b","label":"x","idx":1}\n');
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(
      `${file}:2: field 'label': expected an integer in 0..1, got "x"`,
    );
    await put(file, '{"sentence":"a","label":1}\n\n{"label":0}\n');
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(
      `${file}:3: field 'sentence': expected a string, got nothing (field missing)`,
    );
    await put(file, '{"sentence":"a","label":2}\n');
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(`${file}:1: field 'label': expected an integer in 0..1, got 2`);
    await put(file, '{"sentence":"a",\n');
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(`${file}:1: invalid JSON`);
    await put(join(dir, 'mnli', 'validation_matched.jsonl'), '{"premise":"p","hypothesis":"h","label":3}\n');
    await expect(loadSplit('mnli', 'validation_matched', local(dir))).rejects.toThrow(/expected an integer in 0..2, got 3/);
    await put(join(dir, 'stsb', 'train.jsonl'), '{"sentence1":"a","sentence2":"b","label":"high"}\n');
    await expect(loadSplit('stsb', 'train', local(dir))).rejects.toThrow(/field 'label': expected a finite number, got "high"/);
  });

  it('accepts label -1 only in test splits', async () => {
    const dir = join(root, 'jsonl-test');
    await put(join(dir, 'rte', 'test.jsonl'), '{"sentence1":"a","sentence2":"b","label":-1,"idx":0}\n');
    await put(join(dir, 'rte', 'train.jsonl'), '{"sentence1":"a","sentence2":"b","label":-1,"idx":0}\n');
    expect((await loadSplit('rte', 'test', local(dir)))[0]!.label).toBe(-1);
    await expect(loadSplit('rte', 'train', local(dir))).rejects.toThrow(/expected an integer in 0..1, got -1/);
  });

  it('rejects unknown splits', async () => {
    await expect(loadSplit('sst2', 'dev', local(root))).rejects.toThrow(/unknown split 'dev' for sst2; expected one of train, validation, test/);
    await expect(loadSplit('mnli', 'validation', local(root))).rejects.toThrow(/validation_matched, validation_mismatched/);
  });
});

describe('GLUE TSV folders', () => {
  const dir = () => join(root, 'tsv');
  beforeAll(async () => {
    await put(join(dir(), 'CoLA', 'train.tsv'), 'gj04\t1\t\tOur friends won\'t buy this analysis.\ngj04\t0\t*\tOne more pseudo generalization.\n');
    await put(join(dir(), 'SST-2', 'dev.tsv'), 'sentence\tlabel\nit \'s a charming journey . \t1\n');
    await put(
      join(dir(), 'MRPC', 'train.tsv'),
      '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t702876\t702977\tAmrozi accused his brother.\tHe called him a liar.\n0\t2108705\t2108831\tYucaipa owned Dominick.\tYucaipa bought it.\n',
    );
    await put(
      join(dir(), 'STS-B', 'dev.tsv'),
      'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n' +
        '0\tmain-captions\tMSRvid\t2012test\t0000\tnone\tnone\tA man with a hard hat is dancing.\tA man wearing a hard hat is dancing.\t5.000\n' +
        // an extra column, as some STS-B rows have: the score is the last one
        '1\tmain-forums\tdeft\t2015\t0001\tnone\tnone\tA\tB\textra\t2.5\n',
    );
    await put(join(dir(), 'RTE', 'train.tsv'), 'index\tsentence1\tsentence2\tlabel\n0\tP one.\tH one.\tnot_entailment\n1\tP two.\tH two.\tentailment\n');
    await put(join(dir(), 'WNLI', 'dev.tsv'), 'index\tsentence1\tsentence2\tlabel\n0\tThe drain is clogged.\tThe hair is clogged.\t1\n');
    await put(join(dir(), 'QNLI', 'dev.tsv'), 'index\tquestion\tsentence\tlabel\n0\tWhat?\tThis.\tnot_entailment\n');
    const mnliHeader = 'index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n';
    await put(
      join(dir(), 'MNLI', 'dev_mismatched.tsv'),
      mnliHeader + '0\t1\t1n\tletters\t(..)\t(..)\t(..)\t(..)\tYour gift is appreciated.\tHundreds of students will benefit.\tneutral\tneutral\tentailment\tneutral\tneutral\tneutral\n' +
        '1\t2\t2c\tletters\t(..)\t(..)\t(..)\t(..)\tP\tH\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\n',
    );
  });

  it('reads each task with its quirks, mapping labels to the Hub ids', async () => {
    const d = local(dir());
    expect(await loadSplit('cola', 'train', d)).toEqual([
      { texts: ["Our friends won't buy this analysis."], label: 1, idx: 0 },
      { texts: ['One more pseudo generalization.'], label: 0, idx: 1 },
    ]);
    expect(await loadSplit('sst2', 'validation', d)).toEqual([{ texts: ["it 's a charming journey . "], label: 1, idx: 0 }]);
    expect(await loadSplit('mrpc', 'train', d)).toEqual([
      { texts: ['Amrozi accused his brother.', 'He called him a liar.'], label: 1, idx: 0 },
      { texts: ['Yucaipa owned Dominick.', 'Yucaipa bought it.'], label: 0, idx: 1 },
    ]);
    expect(await loadSplit('stsb', 'validation', d)).toEqual([
      { texts: ['A man with a hard hat is dancing.', 'A man wearing a hard hat is dancing.'], label: 5, idx: 0 },
      { texts: ['A', 'B'], label: 2.5, idx: 1 },
    ]);
    expect((await loadSplit('rte', 'train', d)).map((e) => e.label)).toEqual([1, 0]); // not_entailment = 1
    expect(await loadSplit('wnli', 'validation', d)).toEqual([{ texts: ['The drain is clogged.', 'The hair is clogged.'], label: 1, idx: 0 }]);
    expect(await loadSplit('qnli', 'validation', d)).toEqual([{ texts: ['What?', 'This.'], label: 1, idx: 0 }]);
    expect(await loadSplit('mnli', 'validation_mismatched', d)).toEqual([
      { texts: ['Your gift is appreciated.', 'Hundreds of students will benefit.'], label: 1, idx: 0 },
      { texts: ['P', 'H'], label: 2, idx: 1 },
    ]);
    expect(await loadSplit('cola', 'train', d, { limit: 1 })).toHaveLength(1);
  });

  it('names file, line and field for bad rows', async () => {
    const bad = join(root, 'tsv-bad');
    await put(join(bad, 'RTE', 'dev.tsv'), 'index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\tmaybe\n');
    await expect(loadSplit('rte', 'validation', local(bad))).rejects.toThrow(
      `${join(bad, 'RTE', 'dev.tsv')}:3: field 'label': expected one of entailment, not_entailment, got "maybe"`,
    );
    await put(join(bad, 'CoLA', 'dev.tsv'), 'gj04\t1\t\tfine\ngj04\t1\n');
    await expect(loadSplit('cola', 'validation', local(bad))).rejects.toThrow(
      `${join(bad, 'CoLA', 'dev.tsv')}:2: expected at least 4 tab-separated columns (GLUE CoLA format), got 2`,
    );
    await put(join(bad, 'SST-2', 'train.tsv'), 'sentence\tlabel\ngood\tpositive\n');
    await expect(loadSplit('sst2', 'train', local(bad))).rejects.toThrow(/train.tsv:2: field 'label': expected an integer in 0..1, got "positive"/);
  });
});

describe('Parquet (the Hub export)', () => {
  it('reads int64 labels, limit, and prefers JSONL when both exist', async () => {
    const dir = join(root, 'parquet');
    const file = join(dir, 'mrpc', 'train-00000-of-00001.parquet');
    await put(file, glueParquet({ sentence1: ['a1', 'b1', 'c1'], sentence2: ['a2', 'b2', 'c2'] }, [1, 0, 1]));
    expect(await loadSplit('mrpc', 'train', local(dir))).toEqual([
      { texts: ['a1', 'a2'], label: 1, idx: 0 },
      { texts: ['b1', 'b2'], label: 0, idx: 1 },
      { texts: ['c1', 'c2'], label: 1, idx: 2 },
    ]);
    expect(await loadSplit('mrpc', 'train', local(dir), { limit: 2 })).toHaveLength(2);
    await put(join(dir, 'stsb', 'validation-00000-of-00001.parquet'), glueParquet({ sentence1: ['x'], sentence2: ['y'] }, [4.5], 'FLOAT'));
    expect(await loadSplit('stsb', 'validation', local(dir))).toEqual([{ texts: ['x', 'y'], label: 4.5, idx: 0 }]);

    await put(join(dir, 'mrpc', 'train.jsonl'), '{"sentence1":"j1","sentence2":"j2","label":0,"idx":0}\n');
    expect(await loadSplit('mrpc', 'train', local(dir))).toEqual([{ texts: ['j1', 'j2'], label: 0, idx: 0 }]);
  });

  it('names file, row and field for bad rows and missing columns', async () => {
    const dir = join(root, 'parquet-bad');
    const file = join(dir, 'sst2', 'train-00000-of-00001.parquet');
    await put(file, glueParquet({ sentence: ['a', 'b'] }, [1, 5]));
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(`${file}: row 1: field 'label': expected an integer in 0..1, got 5`);
    await put(file, glueParquet({ text: ['a'] }, [1]));
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(`${file}: missing column 'sentence' for sst2 (the file has: text, label, idx)`);
    await put(file, 'not parquet at all');
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(`${file}: not a readable parquet file`);
  });

  it('names file, row and field for text that is not UTF-8 (issue 7 item 12)', async () => {
    const dir = join(root, 'parquet-latin1');
    const file = join(dir, 'sst2', 'train-00000-of-00001.parquet');
    const sentences = [new TextEncoder().encode('fine'), Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x21])]; // "café!" in latin1
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'sentence', data: sentences, type: 'BYTE_ARRAY' as const },
        { name: 'label', data: [1n, 0n], type: 'INT64' as const },
      ],
    });
    await put(file, buffer);
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(
      `${file}: row 1: field 'sentence': not valid UTF-8 (byte 4 of the text is 0xe9); gbp reads data files as UTF-8`,
    );
    expect(await loadSplit('sst2', 'train', local(dir), { limit: 1 })).toEqual([{ texts: ['fine'], label: 1, idx: 0 }]);
  });
});

describe('missing data', () => {
  it('says how to point gbp at local data and lists the paths tried', async () => {
    const dir = join(root, 'empty');
    const error = await loadSplit('rte', 'validation', { dir, source: 'auto', offline: true, cache_dir: join(root, 'cache-empty') }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/no rte\/validation data found and downloads are off \(data.offline is set\)/);
    for (const hint of ['--data-dir', 'GBP_DATA_DIR', 'data.dir']) expect(message).toContain(hint);
    for (const path of [
      join(dir, 'rte', 'validation.jsonl'),
      join(dir, 'rte', 'validation-00000-of-00001.parquet'),
      join(dir, 'RTE', 'dev.tsv'),
      join(root, 'cache-empty', 'hub', 'nyu-mll', 'glue', 'rte', 'validation-00000-of-00001.parquet'),
    ]) {
      expect(message).toContain(path);
    }
    await expect(loadSplit('rte', 'train', local(dir))).rejects.toThrow(/no rte\/train data under .*empty.*GBP_DATA_DIR/s);
    await expect(loadSplit('rte', 'train', { source: 'local', offline: false })).rejects.toThrow(/no data dir is set/);
  });

  it('falls back to GBP_DATA_DIR when data.dir is unset', async () => {
    const dir = join(root, 'envdir');
    await put(join(dir, 'wnli', 'train.jsonl'), '{"sentence1":"a","sentence2":"b","label":0,"idx":0}\n');
    vi.stubEnv('GBP_DATA_DIR', dir);
    expect(await loadSplit('wnli', 'train', { source: 'local', offline: true })).toHaveLength(1);
  });

  it('leaves no temp files behind', async () => {
    const entries = await readdir(root, { recursive: true });
    expect(entries.filter((e) => String(e).endsWith('.tmp'))).toEqual([]);
  });
});
