import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError } from '../abort.js';
import type { DataSpec } from '../spec.js';
import { DEFAULT_MAX_LINE_BYTES, readLines } from './lines.js';
import { loadSplit } from './load.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gbp-lines-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const local = (dir: string, extra: Partial<DataSpec> = {}): DataSpec => ({ dir, source: 'local', offline: true, ...extra });
const row = (sentence: string, i = 0) => JSON.stringify({ sentence, label: i % 2, idx: i });
const collect = async (lines: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const l of lines) out.push(l);
  return out;
};

async function sst2(name: string, content: string | Uint8Array) {
  const dir = join(root, name);
  await mkdir(join(dir, 'sst2'), { recursive: true });
  const file = join(dir, 'sst2', 'train.jsonl');
  await writeFile(file, content);
  return { dir, file };
}

describe('data files that are not UTF-8', () => {
  it('are refused naming file:line and the first bad byte', async () => {
    const latin1 = Buffer.concat([Buffer.from(`${row('good', 0)}\n${row('fine', 1)}\n{"sentence":"caf`), Buffer.from([0xe9]), Buffer.from(`","label":1,"idx":2}\n`)]);
    const { dir, file } = await sst2('latin1', latin1);
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(
      `${file}:3: not valid UTF-8 (byte 17 of the line is 0xe9); gbp reads data files as UTF-8: convert the file, e.g. iconv -f latin1 -t utf-8`,
    );
    const { file: ff } = await sst2('ff', Buffer.concat([Buffer.from('ok\n'), Buffer.from([0x61, 0xff, 0x62])]));
    await expect(collect(readLines(ff))).rejects.toThrow(`${ff}:2: not valid UTF-8 (byte 2 of the line is 0xff)`);
    // a sequence cut off by the end of the file: '€' is e2 82 ac
    const { file: cut } = await sst2('cut', Buffer.from([0x6f, 0x6b, 0x0a, 0x61, 0xe2, 0x82]));
    await expect(collect(readLines(cut))).rejects.toThrow(`${cut}:2: not valid UTF-8 (byte 2 of the line is 0xe2)`);
  });

  it('multi-byte characters across the 1 MiB chunk boundary are read intact, BOM stripped', async () => {
    // 'é' is 2 bytes, '€' 3 and '😀' 4: with an odd-length first line one of them straddles byte 1 MiB
    const lines = ['x', ...Array.from({ length: 40_000 }, (_, i) => `${i} é€😀 ${'é€😀'.repeat(i % 7)}`)];
    const { file } = await sst2('multibyte', `\ufeff${lines.join('\r\n')}\n`);
    expect(await collect(readLines(file))).toEqual(lines);
  });
});

describe('line length', () => {
  it('a line over data.max_line_bytes fails naming file:line, the limit and the option', async () => {
    const { dir, file } = await sst2('long', `${row('short', 0)}\n${row('y'.repeat(3 * DEFAULT_MAX_LINE_BYTES), 1)}\n${row('after', 2)}\n`);
    await expect(loadSplit('sst2', 'train', local(dir))).rejects.toThrow(
      `${file}:2: the line is longer than 1048576 bytes (data.max_line_bytes); raise data.max_line_bytes if the file really has lines this long`,
    );
    // raised, the same file loads
    const examples = await loadSplit('sst2', 'train', local(dir, { max_line_bytes: 4 * DEFAULT_MAX_LINE_BYTES }));
    expect(examples.map((e) => e.texts[0]!.length)).toEqual([5, 3 * DEFAULT_MAX_LINE_BYTES, 5]);
  });

  it('is checked on complete lines inside one chunk too, and on a last line without a line break', async () => {
    const { dir, file } = await sst2('small-limit', `${row('short', 0)}\n${row('a longer sentence than forty bytes allow', 1)}\n`);
    await expect(loadSplit('sst2', 'train', local(dir, { max_line_bytes: 45 }))).rejects.toThrow(`${file}:2: the line is longer than 45 bytes (data.max_line_bytes)`);
    const { file: last } = await sst2('last-line', `ab\n${'c'.repeat(50)}`);
    await expect(collect(readLines(last, { maxLineBytes: 10 }))).rejects.toThrow(`${last}:2: the line is longer than 10 bytes`);
    await expect(loadSplit('sst2', 'train', local(dir, { max_line_bytes: 0 }))).rejects.toThrow('data.max_line_bytes must be a positive integer (bytes), got 0');
  });
});

describe('abort while reading', () => {
  it('stops before the next 1 MiB chunk', async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => row(`sentence number ${i}`, i)); // ~5 MB: 5 chunks
    const { dir, file } = await sst2('abort', `${lines.join('\n')}\n`);
    const controller = new AbortController();
    let read = 0;
    const reading = (async () => {
      for await (const _ of readLines(file, { signal: controller.signal })) if (++read === 10) controller.abort();
    })();
    await expect(reading).rejects.toBeInstanceOf(AbortError);
    const perChunk = Math.ceil(DEFAULT_MAX_LINE_BYTES / (lines[0]!.length + 1));
    expect(read).toBeLessThanOrEqual(perChunk);
    const aborted = AbortSignal.abort();
    await expect(loadSplit('sst2', 'train', local(dir), { signal: aborted })).rejects.toBeInstanceOf(AbortError);
  });
});
