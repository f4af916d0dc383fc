import { createReadStream } from 'node:fs';
import { rowParser, type Example } from './rows.js';
import type { TaskInfo } from './tasks.js';

/**
 * The lines of a UTF-8 text file, read in 1 MiB chunks so a caller that stops early (a `limit`)
 * never reads the rest. Strips a BOM and '\r' before '\n'. Faster than node:readline.
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = rest + chunk;
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        yield text.slice(start, end);
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    if (rest.length > 0) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
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
export async function readLineExamples(file: string, task: TaskInfo, split: string, limit: number, toRow: LineToRow): Promise<Example[]> {
  const parse = rowParser(task, split);
  const examples: Example[] = [];
  if (limit <= 0) return examples;
  let line = 0;
  for await (const text of readLines(file)) {
    line++;
    const where = `${file}:${line}`;
    const row = toRow(text, where, line, examples.length);
    if (row === null) continue;
    examples.push(parse(row, where, examples.length));
    if (examples.length >= limit) break;
  }
  return examples;
}
