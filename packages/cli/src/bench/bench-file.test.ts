import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBenchFile } from './bench-file.js';

const dir = mkdtempSync(join(tmpdir(), 'gbp-bench-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = { target: 'tiny', batch: 8, seq: 128, median_ms: 10, p90_ms: 11, seq_per_s: 800, params: 1, weight_bytes: 4, speedup: 1 };
const write = (name: string, value: unknown) => {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
};

describe('readBenchFile', () => {
  it('reads a bench.json written before runtimes existed: its rows are tfjs rows', () => {
    const file = write('old.json', { backend: 'wasm', repeats: 5, rows: [row] });
    expect(readBenchFile(file).rows).toEqual([{ ...row, runtime: 'tfjs' }]);
  });

  it('keeps onnx rows and their threads', () => {
    const file = write('new.json', { backend: 'wasm', repeats: 5, rows: [{ ...row, runtime: 'onnx', threads: 2 }] });
    expect(readBenchFile(file).rows[0]).toMatchObject({ runtime: 'onnx', threads: 2 });
  });

  it('refuses an unknown runtime, naming the file and the row', () => {
    const file = write('bad.json', { backend: 'wasm', repeats: 5, rows: [row, { ...row, runtime: 'torch' }] });
    expect(() => readBenchFile(file)).toThrow(`${file}: rows[1].runtime must be one of tfjs, onnx, got "torch"`);
  });
});
