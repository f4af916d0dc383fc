import { createReadStream } from 'node:fs';
import { throwIfAborted } from '../abort.js';
import { DataError } from './errors.js';
import { rowParser, type Example } from './rows.js';
import { notUtf8Message } from './utf8.js';
import type { TaskInfo } from './tasks.js';

/** Longest line a data file may have unless data.max_line_bytes says otherwise: 1 MiB (GLUE's longest is ~5 KB). */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

export interface ReadLinesOptions {
  /** Longest line accepted, in bytes without its line break; a longer one is an error before it is all read. */
  maxLineBytes?: number;
  /** Checked before each 1 MiB chunk. */
  signal?: AbortSignal;
}

const NEWLINE = 0x0a;
const BOM = [0xef, 0xbb, 0xbf] as const;

const tooLong = (path: string, line: number, max: number) =>
  new DataError(`${path}:${line}: the line is longer than ${max} bytes (data.max_line_bytes); raise data.max_line_bytes if the file really has lines this long`);

/**
 * The lines of a UTF-8 text file, read in 1 MiB chunks so a caller that stops early (a `limit`)
 * never reads the rest. Strips a BOM and '\r' before '\n'. Refuses, naming file:line, bytes that
 * are not UTF-8 and a line longer than `maxLineBytes` (as soon as that many bytes are read, so a
 * huge line never sits in memory). Decodes a chunk's complete lines at once: faster than node:readline.
 */
export async function* readLines(path: string, options: ReadLinesOptions = {}): AsyncGenerator<string> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  // bytes of the line in progress (no '\n' seen yet)
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0; // lines yielded so far
  let first = true;

  /** Decodes complete lines (each ending in '\n' except maybe the last) and numbers them from line + 1. */
  const decode = (region: Buffer): string[] => {
    let text: string;
    try {
      text = decoder.decode(region);
    } catch {
      for (let start = 0, n = line + 1; start < region.length; n++) {
        const newline = region.indexOf(NEWLINE, start);
        const end = newline === -1 ? region.length : newline;
        try {
          decoder.decode(region.subarray(start, end));
        } catch {
          throw new DataError(`${path}:${n}: ${notUtf8Message(region.subarray(start, end), 'line')}`);
        }
        start = end + 1;
      }
      throw new DataError(`${path}: not valid UTF-8`); // unreachable: some line failed above
    }
    const lines = text.split('\n');
    if (region.at(-1) === NEWLINE) lines.pop();
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(options.signal);
      let data = chunk;
      if (first) {
        first = false;
        if (BOM.every((b, i) => data[i] === b)) data = data.subarray(BOM.length);
      }
      const lastNewline = data.lastIndexOf(NEWLINE);
      if (lastNewline === -1) {
        pending.push(data);
        pendingBytes += data.length;
        if (pendingBytes > max) throw tooLong(path, line + 1, max);
        continue;
      }
      const complete = data.subarray(0, lastNewline + 1);
      const region = pendingBytes > 0 ? Buffer.concat([...pending, complete]) : complete;
      for (let start = 0, n = line + 1, nl = region.indexOf(NEWLINE); nl !== -1; start = nl + 1, n++, nl = region.indexOf(NEWLINE, start)) {
        if (nl - start > max) throw tooLong(path, n, max);
      }
      const lines = decode(region);
      pending = [data.subarray(lastNewline + 1)];
      pendingBytes = pending[0]!.length;
      if (pendingBytes > max) throw tooLong(path, line + lines.length + 1, max);
      for (const text of lines) {
        line++;
        yield text;
      }
    }
    if (pendingBytes > 0) {
      const [last] = decode(Buffer.concat(pending));
      line++;
      if (last!.length > 0) yield last!;
    }
  } finally {
    stream.destroy();
  }
}

/** Turns line `line` of a file (1-based; `where` is "file:line") into a raw row, or null to skip the line. */
export type LineToRow = (text: string, where: string, line: number, index: number) => Record<string, unknown> | null;

/**
 * The examples of a file with one row per line (JSON Lines, TSV): each row `toRow` returns goes
 * through `rowParser(task, split)`; reading stops as soon as there are `limit` examples.
 */
export async function readLineExamples(
  file: string,
  task: TaskInfo,
  split: string,
  limit: number,
  toRow: LineToRow,
  options: ReadLinesOptions = {},
): Promise<Example[]> {
  const parse = rowParser(task, split);
  const examples: Example[] = [];
  if (limit <= 0) return examples;
  let line = 0;
  for await (const text of readLines(file, options)) {
    line++;
    const where = `${file}:${line}`;
    const row = toRow(text, where, line, examples.length);
    if (row === null) continue;
    examples.push(parse(row, where, examples.length));
    if (examples.length >= limit) break;
  }
  return examples;
}
