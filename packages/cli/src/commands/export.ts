/**
 * `gbp export SOURCE --format hf --output DIR [--dtype float32|float16] [--force]`: a trained or
 * pruned model (a job folder, a gbp model/ folder, anything loadModel takes) in another format.
 * Every check (format, dtype, source, target) runs before the model is read; DIR is written
 * whole or not at all.
 */
import { resolve } from 'node:path';
import { absoluteModelRef, checkExportTarget, FileWriteError, loadModel, locateModel } from '@gbp/core';
import { EXPORT_FORMATS } from '../export/formats.js';
import { EXPORT_FLAGS, helpText, parseFlags, UsageError } from '../args.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';

const USAGE = 'Usage: gbp export SOURCE --format FORMAT --output DIR [--dtype TYPE] [--force]';

const INTRO = `SOURCE: a job folder (its model/), a gbp model folder, or a Hugging Face BERT folder.
Formats:
${Object.entries(EXPORT_FORMATS)
  .map(([name, f]) => `  ${name}: ${f.describe} (--dtype ${f.dtypes.join('|')})`)
  .join('\n')}`;

const thousands = (n: number) => n.toLocaleString('en-US');

export async function exportCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, EXPORT_FLAGS, 'gbp export');
  if (flags.help) {
    io.stdout.write(helpText(USAGE, EXPORT_FLAGS, INTRO));
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`gbp export: give one SOURCE (a job folder or a model folder), got ${positionals.length === 0 ? 'none' : positionals.join(' ')}; see gbp export -h`);
  const known = Object.keys(EXPORT_FORMATS).join(', ');
  if (flags.format === undefined) throw new UsageError(`gbp export: give --format (known: ${known})`);
  const format = EXPORT_FORMATS[flags.format];
  if (format === undefined) throw new UsageError(`gbp export: unknown format '${flags.format}' (known: ${known})`);
  const dtype = flags.dtype ?? format.dtypes[0]!;
  if (!format.dtypes.includes(dtype)) throw new UsageError(`gbp export: --dtype must be one of ${format.dtypes.join(', ')} for format ${flags.format}, got '${dtype}'`);
  if (flags.output === undefined) throw new UsageError('gbp export: give --output DIR, the folder to write');

  const given = positionals[0]!;
  // A local path is read relative to the command's folder; a Hub id goes to locateModel as given.
  const ref = absoluteModelRef(given, io.cwd);
  const output = resolve(io.cwd, flags.output);
  const force = flags.force === true;
  // Every error but a failed write is about the input (no such model, a damaged folder, weights float16 cannot hold, DIR).
  const asUsage = (error: unknown): never => {
    if (error instanceof FileWriteError) throw error;
    throw new UsageError(`gbp export: ${(error as Error).message}`);
  };
  const located = await locateModel(ref).catch(asUsage);
  try {
    checkExportTarget(output, { force, sourceDir: located.dir, hint: 'give --force to replace it whole' });
  } catch (error) {
    asUsage(error);
  }
  const model = await loadModel(located.dir, { log: (message) => io.stderr.write(`${message}\n`) }).catch(asUsage);
  const summary = await format.write(output, model, { dtype, force }).catch(asUsage);
  const padding = summary.extraParams > 0 ? ` (${thousands(summary.extraParams)} of them padding)` : '';
  io.stdout.write(
    `exported ${given} to ${output}: ${format.describe}, ${dtype}, ${thousands(summary.params)} parameters${padding}\n` +
      `files: ${summary.files.join(', ')}\n` +
      summary.notes.map((note) => `note: ${note}\n`).join(''),
  );
  return EXIT.ok;
}
